"""Staff accounts: creation with a strong password, argon2id hashing, verification, and
TOTP two-factor codes (RFC 6238, any authenticator app).

There is no default account and no default password: accounts are made by an operator
with ``python -m bot staff add-user``. A password has 12 to 1024 characters (longer ones
are refused, never cut) and is not a common password, one repeated character, a short
repeated pattern or a keyboard or number sequence.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError

from bot.storage.db import session_scope
from bot.storage.models import STAFF_ROLES, StaffUser, utcnow

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
PASSWORD_RULE = (
    f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, not a common password, "
    "repeated pattern or keyboard sequence"
)
COMMON_PASSWORDS = Path(__file__).resolve().parent / "common_passwords.txt"
TOTP_ISSUER = "Recovery staff console"
# Rows and columns of keyboards and the digits and letters in order; a password made of
# runs along these (either way) is quick to guess.
_SEQUENCES = (
    "01234567890",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "qwertzuiop",
    "azertyuiop",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7ki8lo9p0",
    "qazwsxedcrfvtgbyhnujmikolp",
    "1234567890qwertyuiopasdfghjklzxcvbnm",
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verifying against this keeps the time for an unknown user close to a wrong password.

    Computed on first use, not at import (an argon2 hash costs tens of milliseconds).
    """
    return _hasher.hash("not-a-real-password-for-timing")


class AccountError(ValueError):
    """A staff account cannot be created or changed as asked."""


def add_user(
    username: str, password: str, display_name: str, role: str = "staff", url: Optional[str] = None
) -> dict:
    """Create an account; returns it without the hash. Raises AccountError on bad input."""
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise AccountError("username: 2-64 characters, lower-case letters, digits, . _ -")
    if role not in STAFF_ROLES:
        raise AccountError(f"role must be one of {', '.join(STAFF_ROLES)}")
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    display_name = (display_name or "").strip() or username
    try:
        with session_scope(url) as session:
            # Claims and replies are signed with the display name, so it must be unique.
            taken = (
                session.query(StaffUser)
                .filter(sa.func.lower(StaffUser.display_name) == display_name.lower()[:255])
                .first()
            )
            if taken is not None:
                raise AccountError(f"the name {display_name!r} is already used by another account")
            user = StaffUser(
                username=username,
                display_name=display_name[:255],
                role=role,
                password_hash=_hasher.hash(password),
                disabled=False,
            )
            session.add(user)
            session.flush()
            return {"id": user.id, "username": username, "display_name": display_name, "role": role}
    except IntegrityError as exc:
        raise AccountError(f"username {username!r} is taken") from exc


@lru_cache(maxsize=1)
def _common() -> frozenset:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def _sequence_runs_removed(text: str) -> str:
    """``text`` without its runs of 3+ characters that follow a keyboard or number
    sequence (either way) and without characters repeated 3+ times in a row."""
    out, i = [], 0
    while i < len(text):
        best = 1
        for seq in _SEQUENCES:
            for line in (seq, seq[::-1]):
                j = i + 1
                while j < len(text) and text[i : j + 1] in line:
                    j += 1
                best = max(best, j - i)
        j = i + 1
        while j < len(text) and text[j] == text[i]:
            j += 1
        best = max(best, j - i)
        if best >= 3:
            i += best
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _is_repeated(text: str) -> bool:
    """Whether ``text`` is one shorter piece over and over (``abcabcabcabc``, ``aaaa``)."""
    return any(
        text == (text[:n] * (len(text) // n + 1))[: len(text)] for n in range(1, len(text) // 2 + 1)
    )


def password_problem(password: object, username: str = "") -> Optional[str]:
    """Why a new password is refused, or None when it is acceptable."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must be at most {MAX_PASSWORD_LENGTH} characters (it was not shortened)"
    if password.strip() != password or password.lower() == (username or "").lower():
        return "password must not equal the username or start/end with spaces"
    lower = password.lower()
    squeezed = re.sub(r"[\s._\-]+", "", lower)
    if _is_repeated(squeezed) or len(set(squeezed)) < 4:
        return "password is one character or a short pattern repeated: choose another"
    if len(_sequence_runs_removed(squeezed)) < 4:
        return "password is mostly a keyboard or number sequence: choose another"
    common = _common()
    for form in (squeezed, squeezed.translate(_LEET)):
        stem = re.sub(r"[\d\W_]+$", "", form)
        if form in common or stem in common or (username and stem == username.lower()):
            return "password is a commonly used password: choose another"
    return None


def authenticate(username: str, password: str, url: Optional[str] = None) -> Optional[dict]:
    """The account for a correct username and password, else None (same cost either way)."""
    username = (username or "").strip().lower()
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # never matches: no stored password is longer than the limit
    with session_scope(url) as session:
        user = session.query(StaffUser).filter(StaffUser.username == username).one_or_none()
        stored = user.password_hash if user is not None and not user.disabled else _dummy_hash()
        try:
            _hasher.verify(stored, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        return {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "totp": bool(user.totp_secret),
        }


def list_users(url: Optional[str] = None) -> list:
    """Every account, without hashes."""
    with session_scope(url) as session:
        return [
            {
                "id": u.id,
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "disabled": u.disabled,
                "totp": bool(u.totp_secret),
                "created_at": u.created_at.isoformat() if u.created_at else "",
            }
            for u in session.query(StaffUser).order_by(StaffUser.username)
        ]


def disable_user(user_id: int, url: Optional[str] = None) -> str:
    """Disable an account (it can no longer sign in); returns its username."""
    with session_scope(url) as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise AccountError(f"no account with id {user_id}")
        user.disabled = True
        return user.username


def _code(code: str) -> str:
    return re.sub(r"\s+", "", code or "")[:12]


def _totp_ok(secret: Optional[str], code: str) -> bool:
    code = _code(code)
    if not secret or not re.fullmatch(r"\d{6}", code):
        return False
    # One 30-second step either way, for clocks a little off.
    return pyotp.TOTP(secret).verify(code, valid_window=1)


def totp_enrolment(user_id: int, url: Optional[str] = None) -> dict:
    """Start (or continue) TOTP enrolment: the new secret, base32 and as an otpauth URI.

    The secret only counts once a code from it is confirmed (``totp_confirm``).
    """
    with session_scope(url) as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise AccountError(f"no account with id {user_id}")
        if not user.totp_pending_secret:
            user.totp_pending_secret = pyotp.random_base32()
        secret = user.totp_pending_secret
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
        return {"secret": secret, "uri": uri, "enabled": bool(user.totp_secret)}


def totp_confirm(user_id: int, code: str, url: Optional[str] = None) -> bool:
    """Turn two-factor sign-in on with the pending secret if ``code`` comes from it."""
    with session_scope(url) as session:
        user = session.get(StaffUser, user_id)
        if user is None or not _totp_ok(user.totp_pending_secret, code):
            return False
        user.totp_secret = user.totp_pending_secret
        user.totp_pending_secret = None
        user.totp_enabled_at = utcnow()
        return True


def totp_verify(user_id: int, code: str, url: Optional[str] = None) -> bool:
    """Whether ``code`` is the current code of the account's confirmed TOTP secret."""
    with session_scope(url) as session:
        user = session.get(StaffUser, user_id)
        return bool(user and not user.disabled and _totp_ok(user.totp_secret, code))


def totp_reset(username: str, url: Optional[str] = None) -> None:
    """Remove an account's TOTP secret (lost phone): it enrols again at its next sign-in."""
    with session_scope(url) as session:
        user = session.query(StaffUser).filter(StaffUser.username == username).one_or_none()
        if user is None:
            raise AccountError(f"no account {username!r}")
        user.totp_secret = None
        user.totp_pending_secret = None
        user.totp_enabled_at = None


def user_id_of(username: str, url: Optional[str] = None) -> Optional[int]:
    """The id of an account by username, or None."""
    with session_scope(url) as session:
        user = session.query(StaffUser).filter(StaffUser.username == username).one_or_none()
        return user.id if user else None


def username_of(user_id: int, url: Optional[str] = None) -> Optional[str]:
    """The username of an account by id, or None."""
    with session_scope(url) as session:
        user = session.get(StaffUser, user_id)
        return user.username if user else None

"""Staff accounts: creation with a strong password, argon2id hashing, verification.

There is no default account and no default password: accounts are made by an operator
with ``python -m bot staff add-user``.
"""

from __future__ import annotations

import re
from typing import Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError

from bot.storage.db import session_scope
from bot.storage.models import STAFF_ROLES, StaffUser

MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()
# Verifying against this keeps the time for an unknown user close to a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


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
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password or password.lower() == username:
        raise AccountError("password must not equal the username or start/end with spaces")
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


def authenticate(username: str, password: str, url: Optional[str] = None) -> Optional[dict]:
    """The account for a correct username and password, else None (same cost either way)."""
    username = (username or "").strip().lower()
    with session_scope(url) as session:
        user = session.query(StaffUser).filter(StaffUser.username == username).one_or_none()
        stored = user.password_hash if user is not None and not user.disabled else _DUMMY_HASH
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

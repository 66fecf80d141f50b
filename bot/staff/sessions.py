"""Console logins: server-side sessions, CSRF tokens and login rate limiting.

The session cookie carries a random token; the database keeps only its SHA-256, the
user, a per-session CSRF token and when it was last used. A session ends after
``CONSOLE_IDLE_MINUTES`` without use (default 30) or ``CONSOLE_SESSION_HOURS`` after login
(default 12), at logout, or when the account is disabled.

Logins are limited per username and per address (``CONSOLE_LOGIN_MAX_FAILURES``, default
5 per username, and four times that per address, within ``CONSOLE_LOGIN_WINDOW_MINUTES``,
default 15); the table lives in the database so several console replicas share it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from bot.storage.db import session_scope
from bot.storage.models import LoginAttempt, StaffSession, StaffUser, utcnow


def _int_env(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def idle_limit() -> timedelta:
    """How long an unused session stays valid."""
    return timedelta(minutes=_int_env("CONSOLE_IDLE_MINUTES", 30))


def absolute_limit() -> timedelta:
    """How long any session stays valid after login."""
    return timedelta(hours=_int_env("CONSOLE_SESSION_HOURS", 12))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored as UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class SessionInfo:
    """The signed-in user behind a valid session."""

    token: str
    user_id: int
    username: str
    display_name: str
    role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        """Admins manage accounts and retention and read the audit log."""
        return self.role == "admin"


def create_session(user_id: int, url: Optional[str] = None) -> str:
    """Start a session for a user; returns the cookie token (shown once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    with session_scope(url) as session:
        now = utcnow()
        session.add(
            StaffSession(
                token_hash=_hash(token),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen=now,
            )
        )
    return token


def get_session(token: Optional[str], url: Optional[str] = None) -> Optional[SessionInfo]:
    """The valid session for a cookie token, refreshing its last use; else None."""
    if not token or len(token) > 200:
        return None
    with session_scope(url) as session:
        row = session.query(StaffSession).filter(StaffSession.token_hash == _hash(token)).first()
        if row is None:
            return None
        user = session.get(StaffUser, row.user_id)
        now = utcnow()
        expired = (
            now - _aware(row.last_seen) > idle_limit()
            or now - _aware(row.created_at) > absolute_limit()
        )
        if expired or user is None or user.disabled:
            session.delete(row)
            return None
        row.last_seen = now
        return SessionInfo(
            token, user.id, user.username, user.display_name, user.role, row.csrf_token
        )


def end_session(token: Optional[str], url: Optional[str] = None) -> None:
    """Log out: the token stops working at once."""
    if not token:
        return
    with session_scope(url) as session:
        session.query(StaffSession).filter(StaffSession.token_hash == _hash(token)).delete()


def end_sessions_of(user_id: int, url: Optional[str] = None) -> int:
    """End every session of a user (account disabled); returns how many."""
    with session_scope(url) as session:
        return session.query(StaffSession).filter(StaffSession.user_id == user_id).delete()


def csrf_ok(expected: Optional[str], given: Optional[str]) -> bool:
    """Constant-time comparison of a CSRF token."""
    # Bytes: compare_digest refuses str with non-ASCII characters (a forged token may have them).
    return (
        bool(expected)
        and bool(given)
        and hmac.compare_digest(str(expected).encode(), str(given).encode())
    )


def login_window() -> timedelta:
    """The period over which failed logins are counted."""
    return timedelta(minutes=_int_env("CONSOLE_LOGIN_WINDOW_MINUTES", 15))


def login_blocked(username: str, ip: str, url: Optional[str] = None) -> bool:
    """Whether too many logins failed lately for this username or from this address."""
    max_failures = _int_env("CONSOLE_LOGIN_MAX_FAILURES", 5)
    since = utcnow() - login_window()
    with session_scope(url) as session:
        failed = session.query(LoginAttempt).filter(
            LoginAttempt.ok.is_(False), LoginAttempt.at >= since
        )
        by_user = failed.filter(LoginAttempt.username == username[:64]).count()
        by_ip = failed.filter(LoginAttempt.ip == ip[:64]).count()
    return by_user >= max_failures or by_ip >= 4 * max_failures


def record_login(username: str, ip: str, ok: bool, url: Optional[str] = None) -> None:
    """Remember one login attempt; old ones are pruned as new ones arrive."""
    with session_scope(url) as session:
        session.add(LoginAttempt(username=username[:64], ip=ip[:64], ok=ok, at=utcnow()))
        cutoff = utcnow() - max(login_window(), timedelta(days=1))
        session.query(LoginAttempt).filter(LoginAttempt.at < cutoff).delete()

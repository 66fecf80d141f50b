"""Console logins: server-side sessions, CSRF tokens and login rate limiting.

The session cookie carries a random token; the database keeps only its SHA-256, the
user, a per-session CSRF token and when it was last used. A session ends after
``CONSOLE_IDLE_MINUTES`` without use (default 30) or ``CONSOLE_SESSION_HOURS`` after login
(default 12), at logout, or when the account is disabled.

Sign-in attempts (passwords and two-factor codes) are counted per username and per
address in ``login_throttle``, in the database so several console replicas share it. After
``CONSOLE_LOGIN_MAX_FAILURES`` failures (default 5 per username, four times that per
address) each further attempt waits a delay that doubles every time, from
``CONSOLE_LOGIN_DELAY_SECONDS`` (default 30) up to ``CONSOLE_LOGIN_MAX_DELAY_MINUTES``
(default 15): slow for a guesser, never a lock-out for the owner of the password. A count
starts over ``CONSOLE_LOGIN_WINDOW_MINUTES`` (default 15) after its last delay ran out; an
admin can clear a username's count at once (``unlock``).

Each attempt is counted *before* its password is checked, by a conditional update of
the counter row (compare-and-set on ``failures``), so parallel attempts cannot all pass
one check; a right password gives its count back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.storage.db import get_engine, session_scope
from bot.storage.models import LoginThrottle, StaffSession, StaffUser, utcnow

# The password was right and the two-factor code is due: such a session opens no page.
STAGE_OK = "ok"
STAGE_TOTP = "totp"
PENDING_LIMIT = timedelta(minutes=5)


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
    totp_enabled: bool = False

    @property
    def is_admin(self) -> bool:
        """Admins manage accounts and retention and read the audit log."""
        return self.role == "admin"


def create_session(user_id: int, url: Optional[str] = None, stage: str = STAGE_OK) -> str:
    """Start a session for a user; returns the cookie token (shown once, stored hashed).

    ``stage`` STAGE_TOTP: the password was right but the two-factor code is still due.
    """
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
                stage=stage,
            )
        )
    return token


def get_session(
    token: Optional[str], url: Optional[str] = None, stage: str = STAGE_OK
) -> Optional[SessionInfo]:
    """The valid session of ``stage`` for a cookie token, refreshing its last use; else None."""
    if not token or len(token) > 200:
        return None
    with session_scope(url) as session:
        row = session.query(StaffSession).filter(StaffSession.token_hash == _hash(token)).first()
        if row is None or (row.stage or STAGE_OK) != stage:
            return None
        user = session.get(StaffUser, row.user_id)
        now = utcnow()
        expired = (
            now - _aware(row.last_seen) > idle_limit()
            or now - _aware(row.created_at) > absolute_limit()
            or (stage == STAGE_TOTP and now - _aware(row.created_at) > PENDING_LIMIT)
        )
        if expired or user is None or user.disabled:
            session.delete(row)
            return None
        row.last_seen = now
        return SessionInfo(
            token,
            user.id,
            user.username,
            user.display_name,
            user.role,
            row.csrf_token,
            bool(user.totp_secret),
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
    """How long after its last delay ran out a failure count starts over."""
    return timedelta(minutes=_int_env("CONSOLE_LOGIN_WINDOW_MINUTES", 15))


def _max_failures() -> int:
    return _int_env("CONSOLE_LOGIN_MAX_FAILURES", 5)


def delay_after(failures: int, limit: int) -> timedelta:
    """The wait before the next attempt once ``failures`` attempts failed (0 below limit)."""
    if failures < limit:
        return timedelta(0)
    base = _int_env("CONSOLE_LOGIN_DELAY_SECONDS", 30)
    cap = _int_env("CONSOLE_LOGIN_MAX_DELAY_MINUTES", 15) * 60
    return timedelta(seconds=min(base * 2 ** min(failures - limit, 20), cap))


def _keys(username: str, ip: str) -> tuple:
    limit = _max_failures()
    return (f"ip:{ip[:64]}", 4 * limit), (f"user:{username[:64]}", limit)


def claim_attempt(key: str, limit: int, url: Optional[str] = None) -> float:
    """Count one attempt against ``key`` if it may go ahead now: returns 0.0. Otherwise
    the seconds still to wait, and nothing is counted.

    Compare-and-set on the counter row, so of parallel attempts that saw the same count
    only one is counted with it; the others read again (works on SQLite and PostgreSQL).
    """
    table = LoginThrottle.__table__
    engine = get_engine(url)
    for _ in range(50):
        now = utcnow()
        with engine.begin() as conn:
            row = conn.execute(
                sa.select(table.c.failures, table.c.next_allowed).where(table.c.key == key)
            ).first()
        if row is None:
            try:
                with engine.begin() as conn:
                    conn.execute(
                        table.insert().values(
                            key=key,
                            failures=1,
                            last_at=now,
                            next_allowed=now + delay_after(1, limit),
                        )
                    )
                    # Counters of names nobody tried for a day are forgotten.
                    old = now - max(login_window(), timedelta(days=1))
                    conn.execute(table.delete().where(table.c.next_allowed < old))
                return 0.0
            except IntegrityError:
                continue  # a parallel attempt made the row first
        next_allowed = _aware(row.next_allowed)
        if next_allowed > now:
            return max((next_allowed - now).total_seconds(), 0.001)
        start = 0 if now - next_allowed > login_window() else row.failures
        count = start + 1
        with engine.begin() as conn:
            done = conn.execute(
                table.update()
                .where(table.c.key == key, table.c.failures == row.failures)
                .values(failures=count, last_at=now, next_allowed=now + delay_after(count, limit))
            ).rowcount
        if done:
            return 0.0
    return delay_after(limit, limit).total_seconds()  # heavy contention: refuse this one


def release_attempt(key: str, url: Optional[str] = None) -> None:
    """Give back one counted attempt that turned out right, with the delay it started."""
    table = LoginThrottle.__table__
    with get_engine(url).begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.key == key, table.c.failures > 0)
            .values(failures=table.c.failures - 1, next_allowed=table.c.last_at)
        )


def login_attempt(username: str, ip: str, url: Optional[str] = None) -> float:
    """Count a sign-in attempt (password or code) for a username from an address before it
    is checked. 0.0: go ahead; else the seconds to wait (and nothing counted)."""
    (ip_key, ip_limit), (user_key, user_limit) = _keys(username, ip)
    wait = claim_attempt(ip_key, ip_limit, url)
    if wait:
        return wait
    wait = claim_attempt(user_key, user_limit, url)
    if wait:
        release_attempt(ip_key, url)
    return wait


def login_step_ok(username: str, ip: str, url: Optional[str] = None) -> None:
    """A counted attempt was right (the password, with the code still due): give it back."""
    for key, _limit in _keys(username, ip):
        release_attempt(key, url)


def login_succeeded(username: str, ip: str, url: Optional[str] = None) -> None:
    """Fully signed in: the username's count starts over; the address gets its one back."""
    (ip_key, _), _user = _keys(username, ip)
    release_attempt(ip_key, url)
    unlock(username, url)


def unlock(username: str, url: Optional[str] = None) -> bool:
    """Clear a username's failure count and delay (admin unlock); whether there was one."""
    table = LoginThrottle.__table__
    with get_engine(url).begin() as conn:
        gone = conn.execute(table.delete().where(table.c.key == f"user:{username[:64]}"))
        return bool(gone.rowcount)


def throttled_users(url: Optional[str] = None) -> dict:
    """Usernames with failures counted: {username: (failures, seconds still to wait)}."""
    table = LoginThrottle.__table__
    now = utcnow()
    with get_engine(url).begin() as conn:
        rows = conn.execute(
            sa.select(table.c.key, table.c.failures, table.c.next_allowed).where(
                table.c.key.like("user:%"), table.c.failures > 0
            )
        ).all()
    return {
        r.key[5:]: (r.failures, max(0.0, (_aware(r.next_allowed) - now).total_seconds()))
        for r in rows
        if now - _aware(r.next_allowed) <= login_window()
    }

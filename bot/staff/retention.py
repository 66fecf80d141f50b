"""Retention: unflagged transcripts older than an admin-set number of days are deleted.

The number of days is set by an admin in the console (``console_settings``,
``retention_days``); ``python -m bot staff retention`` applies it (run it daily from cron
or a scheduler). Flagged conversations are kept whatever their age, and so is anything
with a handoff that is not resolved. Deleting removes the conversation's tracker events,
its index row, its notes, tags and its resolved handoffs (with their notifications).
The audit log is kept: it names conversations only by their redacted reference.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Optional

import sqlalchemy as sa

from bot.staff import audit
from bot.staff.transcripts import EVENTS, events_table_exists, refresh_index
from bot.storage.db import get_engine, session_scope
from bot.storage.models import (
    ConsoleSetting,
    ConversationIndex,
    ConversationMeta,
    ConversationNote,
    Handoff,
    Notification,
    utcnow,
)

RETENTION_KEY = "retention_days"
MIN_DAYS, MAX_DAYS = 1, 3650


def get_setting(key: str, url: Optional[str] = None) -> Optional[str]:
    """A console setting's value, or None."""
    with session_scope(url) as session:
        row = session.get(ConsoleSetting, key)
        return row.value if row is not None else None


def set_setting(key: str, value: str, actor: str, url: Optional[str] = None) -> None:
    """Change a console setting."""
    with session_scope(url) as session:
        row = session.get(ConsoleSetting, key)
        if row is None:
            session.add(ConsoleSetting(key=key, value=value, updated_by=actor, updated_at=utcnow()))
        else:
            row.value, row.updated_by, row.updated_at = value, actor, utcnow()


def retention_days(url: Optional[str] = None) -> Optional[int]:
    """The configured retention in days, or None (keep everything)."""
    value = get_setting(RETENTION_KEY, url)
    return int(value) if value and value.isdigit() else None


def set_retention_days(days: int, actor: str, url: Optional[str] = None) -> None:
    """Set retention (admin only; the console checks the role)."""
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"retention must be between {MIN_DAYS} and {MAX_DAYS} days")
    set_setting(RETENTION_KEY, str(days), actor, url)
    audit.record(actor, "retention_set", detail=f"{days} days", url=url)


def expired_conversations(days: int, url: Optional[str] = None) -> list:
    """Conversation ids whose last message is older than ``days`` and that may be deleted."""
    cutoff = utcnow() - timedelta(days=days)
    with session_scope(url) as session:
        flagged = sa.exists().where(
            ConversationMeta.conversation_id == ConversationIndex.conversation_id,
            ConversationMeta.flagged.is_(True),
        )
        active = sa.exists().where(
            Handoff.conversation_id == ConversationIndex.conversation_id,
            Handoff.status != "resolved",
        )
        rows = (
            session.query(ConversationIndex.conversation_id)
            .filter(ConversationIndex.last_at < cutoff, ~flagged, ~active)
            .all()
        )
        return [r[0] for r in rows]


def apply_retention(
    days: Optional[int] = None, dry_run: bool = False, url: Optional[str] = None
) -> dict:
    """Delete expired unflagged conversations; returns what was (or would be) deleted."""
    days = days if days is not None else retention_days(url)
    if days is None:
        return {"days": None, "conversations": 0, "events": 0, "dry_run": dry_run}
    refresh_index(url)
    ids = expired_conversations(days, url)
    # Every event of an expired conversation is older than this; anything newer arrived
    # after the selection above (the person came back) and is kept.
    cutoff = (utcnow() - timedelta(days=days)).timestamp()
    events = 0
    if not dry_run and ids:
        engine = get_engine(url)
        has_events = events_table_exists(url)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            with engine.begin() as conn:
                if has_events:
                    events += conn.execute(
                        sa.delete(EVENTS).where(
                            EVENTS.c.sender_id.in_(chunk),
                            sa.or_(EVENTS.c.timestamp.is_(None), EVENTS.c.timestamp < cutoff),
                        )
                    ).rowcount
            with session_scope(url) as session:
                # Only resolved handoffs: one opened since the selection is still pending.
                handoff_ids = [
                    h
                    for (h,) in session.query(Handoff.id).filter(
                        Handoff.conversation_id.in_(chunk), Handoff.status == "resolved"
                    )
                ]
                if handoff_ids:
                    session.query(Notification).filter(
                        Notification.handoff_id.in_(handoff_ids)
                    ).delete(synchronize_session=False)
                    session.query(Handoff).filter(Handoff.id.in_(handoff_ids)).delete(
                        synchronize_session=False
                    )
                for model in (ConversationNote, ConversationMeta, ConversationIndex):
                    session.query(model).filter(model.conversation_id.in_(chunk)).delete(
                        synchronize_session=False
                    )
        audit.record(
            "retention",
            "retention_run",
            detail=f"{len(ids)} conversations, {events} events older than {days} days",
            url=url,
        )
    return {"days": days, "conversations": len(ids), "events": events, "dry_run": dry_run}

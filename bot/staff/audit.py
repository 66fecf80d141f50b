"""The audit log: append-only record of what staff did (views, exports, replies, claims...)."""

from __future__ import annotations

from typing import List, Optional

from bot.storage.db import session_scope
from bot.storage.models import AuditEntry

MAX_DETAIL = 2000


def record(
    actor: str, action: str, target: str = "", detail: str = "", url: Optional[str] = None
) -> int:
    """Append one entry; returns its id. There is deliberately no update or delete."""
    if not actor or not action:
        raise ValueError("an audit entry needs an actor and an action")
    with session_scope(url) as session:
        entry = AuditEntry(
            actor=actor[:64],
            action=action[:64],
            target=(target or "")[:255],
            detail=(detail or "")[:MAX_DETAIL],
        )
        session.add(entry)
        session.flush()
        return entry.id


def entries(limit: int = 200, actor: Optional[str] = None, url: Optional[str] = None) -> List[dict]:
    """Newest first."""
    with session_scope(url) as session:
        query = session.query(AuditEntry)
        if actor:
            query = query.filter(AuditEntry.actor == actor)
        rows = query.order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 10_000))).all()
        return [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
            }
            for e in rows
        ]

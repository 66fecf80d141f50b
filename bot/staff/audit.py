"""The audit log: append-only record of what staff did (views, exports, replies, claims...)."""

from __future__ import annotations

import re
from typing import List, Optional

from bot.storage.db import session_scope
from bot.storage.models import AuditEntry

MAX_DETAIL = 2000
# Contact details never go into the audit log (nor any log): phone numbers (7+ digits,
# with the usual separators) and e-mail addresses are masked. Conversations are named by
# their redacted reference (bot.handoff.redact).
_PHONE = re.compile(r"(?<![\w-])\+?\d[\d\s().-]{5,}\d(?!\w)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")  # sign-in addresses are kept
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def scrub(text: str) -> str:
    """Mask phone numbers and e-mail addresses."""
    text = _EMAIL.sub("[email]", text or "")
    return _PHONE.sub(
        lambda m: (
            m.group()
            if _DATE.fullmatch(m.group())
            or _IPV4.fullmatch(m.group())
            or sum(c.isdigit() for c in m.group()) < 7
            else "[number]"
        ),
        text,
    )


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
            target=scrub(target)[:255],
            detail=scrub(detail)[:MAX_DETAIL],
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

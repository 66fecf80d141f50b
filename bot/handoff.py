"""Staff handoffs: record them, escalate them, list them. No Rasa imports.

One conversation has at most one handoff that is not resolved: a new alarm in the same
conversation raises that handoff's level (never lowers it) and adds its evidence, so
staff see one queue entry per person, not one per message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from typing import Iterable, List, Tuple

from bot.crisis import LEVEL_ORDER
from bot.settings import ConfigError, conversation_ref_key
from bot.storage.db import session_scope
from bot.storage.models import Handoff, utcnow

MAX_TRIGGER_CHARS = 4000
REF_PREFIX = "conv-"

logger = logging.getLogger(__name__)
_fallback_key: bytes | None = None


def _ref_key() -> bytes:
    """The deployment's reference key; a random one for this process if it is unusable."""
    global _fallback_key
    if _fallback_key is not None:
        return _fallback_key
    try:
        return conversation_ref_key()
    except (ConfigError, OSError) as exc:
        # Never fall back to an unkeyed hash (reversible for phone numbers), and never
        # break the crisis path that logs: references of this process match no other's.
        _fallback_key = secrets.token_bytes(32)
        logger.error(
            "No usable conversation reference key (%s: %s); set CONVERSATION_REF_KEY or "
            "fix SECRET_KEY / var/secret-key. References made by this process are not shared.",
            type(exc).__name__,
            exc,
        )
        return _fallback_key


def redact(conversation_id: str) -> str:
    """A stable, non-reversible stand-in for a conversation id in logs and console URLs.

    SMS conversation ids are phone numbers; they are shown to staff, never logged. The
    reference is an HMAC-SHA256 (full length) keyed with the deployment's secret
    (``bot.settings.conversation_ref_key``): without the key, nobody can recompute the
    reference of a phone number or search for collisions.
    """
    digest = hmac.new(_ref_key(), conversation_id.encode("utf-8"), hashlib.sha256)
    return REF_PREFIX + digest.hexdigest()


def ref_key_id() -> str:
    """A fingerprint of the reference key (not the key): tells when references change."""
    return hmac.new(_ref_key(), b"conversation-ref-key-id", hashlib.sha256).hexdigest()[:16]


def record_handoff(
    conversation_id: str,
    level: str,
    categories: Iterable[str],
    evidence: Iterable[dict],
    trigger_text: str,
    channel: str = "unknown",
    url: str | None = None,
    source_key: str | None = None,
) -> Tuple[dict, bool]:
    """Open a handoff, or escalate the conversation's unresolved one.

    Returns the handoff as a dict and whether it was newly created; the dict's
    ``escalated`` says whether this call raised the level of an existing handoff.

    ``source_key`` (the keyed client address, :func:`bot.limits.address_key`) guards the
    queue against floods: a new conversation whose crisis comes from an address that
    opened a handoff of the same or a higher level in the last ``HANDOFF_BURST_MINUTES``
    (still unresolved) is *grouped* with it. It still gets a handoff record of its own
    (``grouped_with`` = the first one's id), so staff can open, claim and resolve it, but
    it pages nobody (returned as not created) and the queue shows it under the first
    one. A more severe alarm is never grouped under a lesser one. The patient always gets
    the crisis reply (the actions send it whatever happens here): one person rotating
    conversation ids can neither bury real patients in the queue nor make a real
    patient's conversation unclaimable.
    """
    if level not in LEVEL_ORDER or level == "none":
        raise ValueError(f"a handoff needs a level of concern or above, not {level!r}")
    if not conversation_id:
        raise ValueError("a handoff needs a conversation id")
    categories = sorted(set(categories))
    evidence = list(evidence)
    trigger_text = (trigger_text or "")[:MAX_TRIGGER_CHARS]
    with session_scope(url) as session:
        existing = (
            session.query(Handoff)
            .filter(Handoff.conversation_id == conversation_id, Handoff.status != "resolved")
            .order_by(Handoff.id.desc())
            .with_for_update()
            .first()
        )
        now = utcnow()
        if existing is not None:
            escalated = LEVEL_ORDER[level] > LEVEL_ORDER[existing.level]
            if escalated:
                existing.level = level
                existing.trigger_text = trigger_text
            existing.categories_json = json.dumps(
                sorted(set(existing.categories) | set(categories))
            )
            existing.evidence_json = json.dumps((existing.evidence + evidence)[-50:])
            existing.updated_at = now
            return {**existing.to_dict(), "escalated": escalated}, False
        burst = _open_handoff_from(session, source_key, now, level)
        if burst is not None:
            ref = redact(conversation_id)
            note = {"category": "same_address", "text": f"new conversation, same address: {ref}"}
            burst.evidence_json = json.dumps((burst.evidence + [note])[-50:])
            burst.updated_at = now
        handoff = Handoff(
            conversation_id=conversation_id,
            channel=channel or "unknown",
            level=level,
            categories_json=json.dumps(categories),
            evidence_json=json.dumps(evidence),
            trigger_text=trigger_text,
            status="open",
            created_at=now,
            updated_at=now,
            source_key=source_key,
            grouped_with=burst.id if burst is not None else None,
        )
        session.add(handoff)
        session.flush()
        if burst is not None:  # recorded and claimable, but nobody is paged for it
            return {**handoff.to_dict(), "escalated": False, "grouped": True}, False
        return {**handoff.to_dict(), "escalated": False}, True


def _open_handoff_from(session, source_key: str | None, now, level: str) -> Handoff | None:
    """The unresolved handoff opened from ``source_key`` within the burst window, at
    ``level`` or above, if any. A more severe alarm never joins a lesser entry: it opens
    its own, so whoever floods the queue at one level cannot hide a worse one in it."""
    from datetime import timedelta

    from bot.settings import handoff_burst_minutes

    minutes = handoff_burst_minutes()
    if not source_key or minutes <= 0:
        return None
    return (
        session.query(Handoff)
        .filter(
            Handoff.source_key == source_key,
            Handoff.grouped_with.is_(None),
            Handoff.status != "resolved",
            Handoff.created_at >= now - timedelta(minutes=minutes),
            Handoff.level.in_(
                [lv for lv, rank in LEVEL_ORDER.items() if rank >= LEVEL_ORDER[level]]
            ),
        )
        .order_by(Handoff.id)
        .with_for_update()
        .first()
    )


def list_handoffs(status: str | None = None, url: str | None = None) -> List[dict]:
    """Handoffs, most urgent first (emergency, crisis, concern), then oldest first."""
    with session_scope(url) as session:
        query = session.query(Handoff)
        if status:
            query = query.filter(Handoff.status == status)
        rows = [h.to_dict() for h in query.all()]
    return sorted(rows, key=lambda h: (-LEVEL_ORDER[h["level"]], h["created_at"], h["id"]))


class HandoffStateError(RuntimeError):
    """A handoff is not in the state an operation needs (already claimed, resolved...)."""


def get_handoff(handoff_id: int, url: str | None = None) -> dict | None:
    """One handoff by id, or None."""
    with session_scope(url) as session:
        row = session.get(Handoff, handoff_id)
        return row.to_dict() if row is not None else None


def open_handoff_for(conversation_id: str, url: str | None = None) -> dict | None:
    """The conversation's handoff that is not resolved, if any."""
    with session_scope(url) as session:
        row = (
            session.query(Handoff)
            .filter(Handoff.conversation_id == conversation_id, Handoff.status != "resolved")
            .order_by(Handoff.id.desc())
            .first()
        )
        return row.to_dict() if row is not None else None


def claim_handoff(handoff_id: int, staff: str, url: str | None = None) -> dict:
    """Claim an open handoff for ``staff``; only one person can win a claim."""
    with session_scope(url) as session:
        now = utcnow()
        won = (
            session.query(Handoff)
            .filter(Handoff.id == handoff_id, Handoff.status == "open")
            .update(
                {"status": "claimed", "claimed_by": staff, "claimed_at": now, "updated_at": now},
                synchronize_session=False,
            )
        )
        row = session.get(Handoff, handoff_id)
        if row is None:
            raise HandoffStateError(f"handoff {handoff_id} does not exist")
        if not won:
            who = f" by {row.claimed_by}" if row.status == "claimed" else ""
            raise HandoffStateError(f"handoff {handoff_id} is already {row.status}{who}")
        return row.to_dict()


def release_claim(handoff_id: int, staff: str, url: str | None = None) -> None:
    """Undo a claim (used when the assistant could not be paused)."""
    with session_scope(url) as session:
        session.query(Handoff).filter(
            Handoff.id == handoff_id, Handoff.status == "claimed", Handoff.claimed_by == staff
        ).update(
            {"status": "open", "claimed_by": None, "claimed_at": None, "updated_at": utcnow()},
            synchronize_session=False,
        )


def resolve_handoff(handoff_id: int, staff: str, note: str, url: str | None = None) -> dict:
    """Resolve a handoff with a closing note; it records who and when."""
    note = (note or "").strip()
    if not note:
        raise ValueError("a closing note is required")
    with session_scope(url) as session:
        now = utcnow()
        won = (
            session.query(Handoff)
            .filter(Handoff.id == handoff_id, Handoff.status != "resolved")
            .update(
                {
                    "status": "resolved",
                    "resolved_by": staff,
                    "resolved_at": now,
                    "resolution_note": note[:MAX_TRIGGER_CHARS],
                    "updated_at": now,
                },
                synchronize_session=False,
            )
        )
        row = session.get(Handoff, handoff_id)
        if row is None:
            raise HandoffStateError(f"handoff {handoff_id} does not exist")
        if not won:
            raise HandoffStateError(f"handoff {handoff_id} is already resolved")
        return row.to_dict()

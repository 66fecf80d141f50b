"""The handoff watchdog, run by the console every few seconds (and by a command).

1. An emergency or crisis handoff that nobody has claimed within ``watchdog_minutes``
   (clinic file, ``handoff.watchdog_minutes``) is notified to staff again, and the patient
   is sent the crisis resources again with a short note that staff have been alerted.
   This repeats every interval up to ``MAX_REMINDERS`` times; after that the handoff
   simply stays at the top of the queue.
2. While a handoff is claimed the assistant is paused, so the safety actions do not run;
   the SafetyScreen still assesses every message. A message at a higher level than the
   handoff escalates it here (and notifies) so the queue and the pager stay truthful.

Several console replicas may run it at once: each reminder is taken with a conditional
update, so only one replica sends it.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import List, Optional

from bot.crisis import LEVEL_ORDER
from bot.handoff import record_handoff, redact
from bot.notify import notify_all
from bot.settings import watchdog_minutes
from bot.staff import audit
from bot.staff.rasa_client import RasaClient, RasaError
from bot.staff.transcripts import transcript
from bot.storage.db import session_scope
from bot.storage.models import Handoff, utcnow

logger = logging.getLogger("bot.staff.watchdog")
MAX_REMINDERS = 3
URGENT = ("emergency", "crisis")


def due_reminders(url: Optional[str] = None, now=None) -> List[dict]:
    """Unclaimed emergency/crisis handoffs that have waited a full interval since the
    handoff (or since the last reminder)."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=watchdog_minutes())
    with session_scope(url) as session:
        rows = (
            session.query(Handoff)
            .filter(
                Handoff.status == "open",
                Handoff.level.in_(URGENT),
                Handoff.renotify_count < MAX_REMINDERS,
                Handoff.created_at <= cutoff,
            )
            .all()
        )
        return [
            h.to_dict()
            for h in rows
            if h.renotified_at is None or _aware(h.renotified_at) <= cutoff
        ]


def _aware(value):
    from datetime import timezone

    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _take(handoff: dict, url: Optional[str]) -> bool:
    """Claim the right to send this reminder (one replica wins)."""
    with session_scope(url) as session:
        won = (
            session.query(Handoff)
            .filter(
                Handoff.id == handoff["id"],
                Handoff.status == "open",
                Handoff.renotify_count == handoff["renotify_count"],
            )
            .update(
                {
                    "renotified_at": utcnow(),
                    "renotify_count": handoff["renotify_count"] + 1,
                },
                synchronize_session=False,
            )
        )
    return bool(won)


async def send_reminders(client: Optional[RasaClient], url: Optional[str] = None) -> List[dict]:
    """Re-notify staff and re-send the crisis resources for every due handoff."""
    done = []
    for handoff in due_reminders(url):
        if not _take(handoff, url):
            continue
        ref = redact(handoff["conversation_id"])
        outcomes = notify_all({**handoff, "reminder": handoff["renotify_count"] + 1}, url=url)
        patient = "not sent (no Rasa client)"
        if client is not None:
            try:
                await client.send_response(handoff["conversation_id"], "utter_crisis_reminder")
                patient = "crisis resources sent again"
            except RasaError as exc:
                patient = f"could not reach the patient: {exc}"
                logger.error("watchdog: %s for handoff %s (%s)", exc, handoff["id"], ref)
        audit.record(
            "watchdog",
            "renotify",
            ref,
            f"handoff {handoff['id']} ({handoff['level']}) unclaimed; reminder "
            f"{handoff['renotify_count'] + 1}; staff notified: "
            f"{all(o['ok'] for o in outcomes)}; patient: {patient}",
            url=url,
        )
        done.append({"handoff": handoff["id"], "patient": patient})
    return done


def escalate_claimed(url: Optional[str] = None) -> List[dict]:
    """Raise a claimed handoff when the patient has since written at a higher level."""
    with session_scope(url) as session:
        claimed = [h.to_dict() for h in session.query(Handoff).filter(Handoff.status == "claimed")]
    raised = []
    for handoff in claimed:
        worst = None
        for item in transcript(handoff["conversation_id"], url=url):
            if item.kind != "user" or not item.safety:
                continue
            if LEVEL_ORDER.get(item.safety["level"], 0) > LEVEL_ORDER[handoff["level"]]:
                if (
                    worst is None
                    or LEVEL_ORDER[item.safety["level"]] > LEVEL_ORDER[worst.safety["level"]]
                ):
                    worst = item
        if worst is None:
            continue
        updated, _ = record_handoff(
            handoff["conversation_id"],
            worst.safety["level"],
            worst.safety.get("categories", []),
            worst.safety.get("evidence", []),
            worst.text,
            handoff["channel"],
            url=url,
        )
        if updated.get("escalated"):
            notify_all(updated, url=url)
            audit.record(
                "watchdog",
                "escalate",
                redact(handoff["conversation_id"]),
                f"handoff {handoff['id']} raised to {updated['level']} while claimed by "
                f"{handoff['claimed_by']}: {json.dumps(worst.safety.get('categories', []))}",
                url=url,
            )
            raised.append(updated)
    return raised

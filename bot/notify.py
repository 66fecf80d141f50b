"""Tell on-call staff about a handoff. Pluggable: log + database by default, webhook optional.

``HANDOFF_WEBHOOK_URL`` adds a notifier that POSTs an alert as JSON. Every attempt is
recorded in the ``notifications`` table, so a failed alert is visible, never silent.

An alert leaves our systems (a pager, a chat room), so it says only that staff are
needed: the handoff id, its level, when, and a link to the console's queue (staff sign
in to see who and why). Never the conversation id or the channel address (SMS ids are
phone numbers), the person's words or the evidence. Logs carry at most the redacted
reference.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import List, Protocol

from bot.handoff import redact
from bot.settings import console_public_url
from bot.storage.db import session_scope
from bot.storage.models import Notification

logger = logging.getLogger("bot.notify")


class Notifier(Protocol):
    """Something that alerts staff about a handoff and says whether it worked."""

    name: str

    def notify(self, handoff: dict) -> tuple:
        """Send the alert; return (ok, detail)."""


class LogNotifier:
    """The embedded default: a warning in the log (the queue itself is the database)."""

    name = "log"

    def notify(self, handoff: dict) -> tuple:
        """Log the handoff without contact details."""
        logger.warning(
            "HANDOFF %s level=%s categories=%s conversation=%s channel=%s",
            handoff["id"],
            handoff["level"],
            ",".join(handoff["categories"]),
            redact(handoff["conversation_id"]),
            handoff["channel"],
        )
        return True, "logged"


def alert_payload(handoff: dict) -> dict:
    """What an alert outside our systems may say about a handoff: no patient data.

    ``{"event": "handoff", "handoff": {"id", "level", "at", "reminder"?},
    "console_url"}``; ``console_url`` is the queue, not the conversation's page.
    """
    alert = {
        "id": handoff["id"],
        "level": handoff["level"],
        "at": handoff.get("updated_at") or handoff.get("created_at"),
    }
    if handoff.get("reminder"):
        alert["reminder"] = int(handoff["reminder"])
    return {"event": "handoff", "handoff": alert, "console_url": console_public_url() + "/"}


class WebhookNotifier:
    """POST an alert (:func:`alert_payload`) as JSON to a URL (a pager, a chat bridge...)."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        """``url``: where to POST; ``timeout``: seconds before giving up."""
        self.url = url
        self.timeout = timeout

    def notify(self, handoff: dict) -> tuple:
        """POST and report the HTTP outcome."""
        body = json.dumps(alert_payload(handoff)).encode()
        request = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                ok = 200 <= response.status < 300
                return ok, f"HTTP {response.status}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return False, f"{type(exc).__name__}: {exc}"


def notifiers_from_env() -> List[Notifier]:
    """The log notifier always; the webhook one when HANDOFF_WEBHOOK_URL is set."""
    chosen: List[Notifier] = [LogNotifier()]
    url = os.environ.get("HANDOFF_WEBHOOK_URL", "").strip()
    if url:
        chosen.append(WebhookNotifier(url))
    return chosen


def notify_all(
    handoff: dict, notifiers: List[Notifier] | None = None, url: str | None = None
) -> List[dict]:
    """Run every notifier, record each outcome; one failing never stops the others."""
    outcomes = []
    for notifier in notifiers if notifiers is not None else notifiers_from_env():
        try:
            ok, detail = notifier.notify(handoff)
        except Exception as exc:  # a broken notifier must not break the crisis path
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        if not ok:
            logger.error(
                "notifier %s failed for handoff %s: %s", notifier.name, handoff["id"], detail
            )
        outcomes.append({"notifier": notifier.name, "ok": ok, "detail": detail})
    try:
        with session_scope(url) as session:
            for o in outcomes:
                session.add(Notification(handoff_id=handoff["id"], **o))
    except Exception:
        logger.exception("could not record notifications for handoff %s", handoff["id"])
    return outcomes


def record_and_notify(**handoff_fields) -> dict:
    """``bot.handoff.record_handoff`` and, when it is new or escalated, notify staff.

    For the Rasa server's own fallbacks (the channels when Rasa cannot process a message,
    the NLG when the handoff action failed); the action server's path is
    ``actions.handoff.open_handoff`` (which also leaves concern-level handoffs unpaged).
    """
    from bot.handoff import record_handoff

    handoff, created = record_handoff(**handoff_fields)
    if created or handoff.get("escalated"):
        notify_all(handoff)
    return handoff

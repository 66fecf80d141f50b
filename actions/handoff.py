"""Hand the conversation to human staff: record it, alert on-call staff, say what's next."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.safety_base import channel_of, higher_level, latest_assessment
from bot.crisis import next_steps_message
from bot.handoff import record_handoff, redact
from bot.notify import notify_all
from bot.settings import clinic_config

logger = logging.getLogger(__name__)


def source_key_of(tracker: Tracker) -> str | None:
    """The keyed client address our channels put in the message's metadata (never the
    client: REST and socket.io overwrite whatever it sent), for the flood guard."""
    from bot.limits import address_key_from_metadata

    return address_key_from_metadata((tracker.latest_message or {}).get("metadata"))


def open_handoff(tracker: Tracker, level: str, categories: list, evidence: list) -> dict:
    """Record (or escalate) the conversation's handoff and alert staff when it is new or worse.

    Returns the handoff dict. Raises if the database is unreachable.
    """
    handoff, created = record_handoff(
        conversation_id=tracker.sender_id,
        level=level,
        categories=categories,
        evidence=evidence,
        trigger_text=(tracker.latest_message or {}).get("text") or "",
        channel=channel_of(tracker),
        source_key=source_key_of(tracker),
    )
    if created and level == "concern":
        logger.info("handoff %s flagged for review (%s)", handoff["id"], redact(tracker.sender_id))
    elif created or handoff["escalated"]:
        # A repeat at the same level is added to the handoff's evidence, not re-paged.
        notify_all(handoff)
    return handoff


class ActionStaffHandoff(Action):
    """Record a handoff for crisis/emergency, alert staff, and tell the user what happens next."""

    def name(self) -> Text:
        """The action's name in the domain."""
        return "action_staff_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Open the handoff; if the database fails, still tell the user how to get help."""
        a = latest_assessment(tracker)
        level = higher_level(a["level"], tracker.get_slot("risk_level") or "none")
        if level not in ("crisis", "emergency"):
            level = "crisis"
        cfg = clinic_config()
        try:
            handoff = open_handoff(tracker, level, a["categories"], a["evidence"])
        except Exception:
            logger.exception("could not record a handoff for %s", redact(tracker.sender_id))
            dispatcher.utter_message(
                text=(
                    "I couldn't reach our staff automatically just now. Please use the lines "
                    f"above, or call {cfg.clinic.name} at {cfg.clinic.phone}. "
                    "I'm still here with you."
                )
            )
            return [SlotSet("risk_level", level)]
        dispatcher.utter_message(
            text=next_steps_message(cfg.clinic.is_open(), cfg, urgent=level == "emergency")
        )
        return [SlotSet("risk_level", level), SlotSet("handoff_id", str(handoff["id"]))]

"""The safety follow-up for a `concern`: a short safety line, a flag, and maybe the screener."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import open_handoff
from actions.safety_base import higher_level, latest_assessment
from bot.crisis import about_writer, crisis_message
from bot.handoff import redact

logger = logging.getLogger(__name__)
SCREENER_INTRO = (
    "I'd like to check in with you. May I ask you a few short yes-or-no questions about "
    "how you've been feeling? Asking doesn't make things worse, and you can stop any time."
)


class ActionSafetyFollowup(Action):
    """Safety line (or third-party help), staff review flag, and the screener if about the user."""

    def name(self) -> Text:
        """The action's name in the domain."""
        return "action_safety_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """See the class docstring; the SafetyPolicy starts the form when screener_due is set."""
        a = latest_assessment(tracker)
        categories = a["categories"] or ["weak_signals"]
        # No categories: weak signals across turns, which are about the writer.
        about_user = about_writer(a["categories"])
        if "third_party" in categories:
            dispatcher.utter_message(text=crisis_message("third_party"))
        else:
            dispatcher.utter_message(text=crisis_message("concern"))
        try:
            open_handoff(tracker, "concern", categories, a["evidence"])
        except Exception:
            logger.exception("could not flag %s for review", redact(tracker.sender_id))
        events: List[Dict[Text, Any]] = [
            SlotSet("risk_level", higher_level(tracker.get_slot("risk_level"), "concern"))
        ]
        if about_user and not tracker.get_slot("screener_done"):
            dispatcher.utter_message(text=SCREENER_INTRO)
            events.append(SlotSet("screener_due", True))
        return events

"""The crisis response: resources first, in the variant that fits the message."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.safety_base import higher_level, latest_assessment, utter_crisis
from bot.crisis import variant_for


class ActionCrisisResponse(Action):
    """Send the crisis resources (emergency, withdrawal, third-party or ideation wording)."""

    def name(self) -> Text:
        """The action's name in the domain."""
        return "action_crisis_response"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Utter the crisis message and remember the conversation's highest risk level."""
        a = latest_assessment(tracker)
        level = a["level"] if a["level"] in ("crisis", "emergency") else "crisis"
        variant = a["variant"] or variant_for(level, a["categories"])
        if variant == "concern":
            variant = "ideation"
        utter_crisis(dispatcher, tracker, level, variant)
        return [SlotSet("risk_level", higher_level(tracker.get_slot("risk_level"), level))]

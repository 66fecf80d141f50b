"""Non-urgent request to talk to staff: the clinic's contact details and hours.

The urgent path (a crisis handoff) is handled by the safety actions, not here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.settings import ClinicConfig, clinic_config


def staff_contact_text(config: ClinicConfig, now: datetime | None = None) -> str:
    """The message telling a patient how to reach clinic staff, open or closed."""
    clinic = config.clinic
    status = (
        "Staff are available now."
        if clinic.is_open(now)
        else "The clinic is closed right now; staff will get back to you when it reopens."
    )
    first = config.resources[0]
    return (
        f"You can reach the {clinic.name} team by phone at {clinic.phone} "
        f"or by email at {clinic.email}.\n"
        f"Hours: {clinic.hours_text()}.\n{status}\n"
        f"If this is urgent or you feel unsafe, {first.name}: {first.how}. "
        f"In an emergency, {config.emergency.how}."
    )


class ActionTalkToStaff(Action):
    """Give the clinic's contact details and hours from configuration."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_talk_to_staff"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[Dict[str, Any]]:
        """Send the contact message; no events."""
        dispatcher.utter_message(text=staff_contact_text(clinic_config()))
        return []

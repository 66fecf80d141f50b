"""The C-SSRS screener (Columbia Suicide Severity Rating Scale, screen version) as a form.

Order and branching follow the screener: questions 1 and 2; a yes to 2 goes on to 3, 4,
5 and 6; a no to 2 goes straight to 6. Triage: yes to 4, 5 or 6 is an emergency, yes to 2
a crisis; otherwise the conversation stays at concern (a denial does not end the pathway).
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import open_handoff
from actions.safety_base import higher_level, utter_crisis
from bot.crisis import CSSRS_QUESTIONS, crisis_message, next_steps_message, screener_result_level
from bot.settings import clinic_config

QUESTIONS = [f"cssrs_q{i}" for i in range(1, 7)]


def required_questions(answers: Dict[str, Any]) -> List[str]:
    """The questions still in play given the answers so far."""
    if answers.get("cssrs_q2") is True:
        return QUESTIONS
    return ["cssrs_q1", "cssrs_q2", "cssrs_q6"]


class AskCssrsQuestion(Action):
    """Ask one screener question with Yes/No buttons (one subclass per question)."""

    number = 0

    def name(self) -> Text:
        """``action_ask_cssrs_q<N>``: the name the form looks for."""
        return f"action_ask_cssrs_q{self.number}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Send the question."""
        dispatcher.utter_message(
            text=CSSRS_QUESTIONS[self.number],
            buttons=[
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        )
        return []


# One action per question, named as the form looks for them (action_ask_cssrs_q1 ... q6);
# rasa_sdk registers every Action subclass, these included.
ASK_ACTIONS = [
    type(f"AskCssrsQ{n}", (AskCssrsQuestion,), {"number": n, "__doc__": f"C-SSRS question {n}."})
    for n in CSSRS_QUESTIONS
]


class ValidateCssrsForm(FormValidationAction):
    """Branching of the screener."""

    def name(self) -> Text:
        """Rasa's naming convention for the form's validation action."""
        return "validate_cssrs_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        """Q3-Q5 only after a yes to Q2."""
        return required_questions({q: tracker.get_slot(q) for q in QUESTIONS})


class ActionCssrsResult(Action):
    """Triage the screener's answers and act on them."""

    def name(self) -> Text:
        """The action's name in the domain."""
        return "action_cssrs_result"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        """Emergency or crisis: resources and a staff handoff; otherwise support and resources."""
        answers = {i: tracker.get_slot(f"cssrs_q{i}") for i in range(1, 7)}
        level = screener_result_level(answers)
        evidence = [
            {"pattern": f"cssrs_q{i}", "category": "screener", "level": level, "text": "yes"}
            for i, yes in answers.items()
            if yes
        ]
        events: List[Dict[Text, Any]] = [
            SlotSet("screener_done", True),
            SlotSet("screener_due", False),
            SlotSet("risk_level", higher_level(tracker.get_slot("risk_level"), level)),
        ]
        cfg = clinic_config()
        if level in ("crisis", "emergency"):
            variant = "emergency" if level == "emergency" else "ideation"
            utter_crisis(dispatcher, tracker, level, variant, cfg)
            try:
                handoff = open_handoff(tracker, level, ["suicidal_ideation", "screener"], evidence)
                events.append(SlotSet("handoff_id", str(handoff["id"])))
                dispatcher.utter_message(
                    text=next_steps_message(cfg.clinic.is_open(), cfg, urgent=level == "emergency")
                )
            except Exception:
                dispatcher.utter_message(
                    text=f"Please also call {cfg.clinic.name} at {cfg.clinic.phone}. "
                    "I'm still here with you."
                )
            return events
        dispatcher.utter_message(
            text=(
                "Thank you for answering. Whatever you're going through, you don't have to "
                "handle it alone, and our staff will look at this conversation. "
                + crisis_message("concern", cfg)
            )
        )
        return events

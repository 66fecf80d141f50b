"""SafetyPolicy decisions on hand-built trackers (no model, no servers)."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.components.safety_policy import decide
from tests.conftest import ROOT

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def user(text, intent, level="none", categories=()):
    safety = {"level": level, "categories": list(categories), "evidence": []}
    return UserUttered(
        text,
        {"name": intent, "confidence": 1.0},
        parse_data={"intent": {"name": intent, "confidence": 1.0}, "safety": safety},
    )


def tracker(*events):
    return DialogueStateTracker.from_events(
        "t", [ActionExecuted("action_listen"), *events], DOMAIN.slots
    )


CRISIS = user("i want to die", "safety_crisis", "crisis", ["suicidal_ideation"])


def test_failed_crisis_response_is_followed_by_the_domain_fallback():
    t = tracker(CRISIS, ActionExecuted("action_crisis_response"))
    assert decide(t) == "utter_crisis_fallback"


def test_successful_crisis_response_leaves_the_rules_in_charge():
    t = tracker(
        CRISIS,
        ActionExecuted("action_crisis_response"),
        BotUttered("988..."),
        SlotSet("risk_level", "crisis"),
    )
    assert decide(t) is None


def test_after_the_fallback_the_handoff_is_still_attempted_then_its_fallback():
    t = tracker(
        CRISIS,
        ActionExecuted("action_crisis_response"),
        ActionExecuted("utter_crisis_fallback"),
        BotUttered("x"),
    )
    assert decide(t) == "action_staff_handoff"
    t.update(ActionExecuted("action_staff_handoff"))
    assert decide(t) == "utter_handoff_fallback"
    t.update(ActionExecuted("utter_handoff_fallback"))
    assert decide(t) == "action_listen"


def test_handoff_that_worked_after_a_crisis_fallback_ends_the_turn():
    t = tracker(
        CRISIS,
        ActionExecuted("action_crisis_response"),
        ActionExecuted("utter_crisis_fallback"),
        BotUttered("x"),
        ActionExecuted("action_staff_handoff"),
        BotUttered("staff alerted"),
        SlotSet("handoff_id", "1"),
    )
    assert decide(t) == "action_listen"


def test_faq_answer_with_a_concern_gets_the_safety_followup_then_the_screener():
    q = user("can withdrawal make you suicidal", "faq", "concern", ["hopelessness"])
    t = tracker(q, ActionExecuted("utter_faq"), BotUttered("answer"))
    assert decide(t) == "action_safety_followup"
    t.update(ActionExecuted("action_safety_followup"))
    t.update(BotUttered("988 line"))
    t.update(SlotSet("screener_due", True))
    assert decide(t) == "cssrs_form"


def test_followup_without_screener_due_just_listens_and_the_screener_runs_once():
    q = user("how do i help my brother", "faq", "concern", ["third_party"])
    t = tracker(
        q, ActionExecuted("utter_faq"), BotUttered("a"), ActionExecuted("action_safety_followup")
    )
    assert decide(t) == "action_listen"
    t2 = tracker(
        ActionExecuted("cssrs_form"),
        q,
        ActionExecuted("utter_faq"),
        BotUttered("a"),
        ActionExecuted("action_safety_followup"),
        SlotSet("screener_due", True),
    )
    assert decide(t2) == "action_listen"


def test_ordinary_faq_answer_adds_nothing():
    q = user("what is klonopin", "faq")
    assert decide(tracker(q, ActionExecuted("utter_faq"), BotUttered("a"))) is None


def test_weak_signals_across_turns_start_the_followup_on_the_second(monkeypatch):
    # The pattern layer's weak-signal count across turns, on its own: the learned head
    # rates most single weak signals concern by itself, which would hide the mechanism.
    import bot.safety.conversation as conversation
    from bot.safety.detector import assess as patterns_only

    monkeypatch.setattr(conversation, "assess_cached", patterns_only)
    # Each alone is level none with one weak signal ("im done", "whats the use").
    for text in ("im done", "whats the use"):
        alone = patterns_only(text)
        assert (alone.level.value, alone.weak_signals) == ("none", 1)
    first = user("im done", "nlu_fallback")
    second = user("whats the use", "faq")
    t = tracker(
        first, ActionExecuted("utter_default"), BotUttered("?"), ActionExecuted("action_listen")
    )
    t.update(second)
    t.update(ActionExecuted("utter_faq"))
    t.update(BotUttered("answer"))
    assert decide(t) == "action_safety_followup"
    one = tracker(first, ActionExecuted("utter_default"), BotUttered("?"))
    assert decide(one) is None


def test_a_timeframe_after_earlier_ideation_runs_the_crisis_sequence_before_any_answer():
    t = tracker(
        CRISIS,
        ActionExecuted("action_crisis_response"),
        BotUttered("988"),
        SlotSet("risk_level", "crisis"),
        ActionExecuted("action_staff_handoff"),
        BotUttered("alerted"),
        SlotSet("handoff_id", "1"),
        ActionExecuted("action_listen"),
        user("tonight", "nlu_fallback"),
    )
    assert decide(t) == "action_crisis_response"
    t.update(ActionExecuted("action_crisis_response"))
    t.update(BotUttered("call 911"))
    t.update(SlotSet("risk_level", "emergency"))
    assert decide(t) == "action_staff_handoff"
    t.update(ActionExecuted("action_staff_handoff"))
    t.update(BotUttered("alerted"))
    t.update(SlotSet("risk_level", "emergency"))
    assert decide(t) == "action_listen"


@pytest.mark.parametrize(
    "earlier, expected", [("i want to die", "utter_still_here"), ("hello", None)]
)
def test_not_understood_during_a_crisis_gets_support(earlier, expected):
    t = tracker(
        user(earlier, "safety_crisis" if expected else "greet"),
        ActionExecuted("action_crisis_response"),
        BotUttered("988"),
        ActionExecuted("action_listen"),
        user("asdf qwerty", "nlu_fallback"),
    )
    assert decide(t) == expected


def test_active_form_is_left_alone():
    q = user("no", "deny")
    t = tracker(
        ActionExecuted("cssrs_form"),
        ActiveLoop("cssrs_form"),
        BotUttered("q1"),
        ActionExecuted("action_listen"),
        q,
    )
    t.update(ActionExecuted("cssrs_form"))
    assert decide(t) is None


def _crisis_with_question(text, categories=("overdose",), topic="faq/when_to_seek_help", conf=0.9):
    safety = {
        "level": "emergency",
        "categories": list(categories),
        "evidence": [],
        "classifier_intent": "faq",
    }
    selector = {"faq": {"response": {"intent_response_key": topic, "confidence": conf}}}
    return UserUttered(
        text,
        {"name": "safety_emergency", "confidence": 1.0},
        parse_data={
            "intent": {"name": "safety_emergency", "confidence": 1.0},
            "safety": safety,
            "response_selector": selector,
        },
    )


def _after_handoff(message):
    return tracker(
        message,
        ActionExecuted("action_crisis_response"),
        BotUttered("988..."),
        SlotSet("risk_level", "emergency"),
        ActionExecuted("action_staff_handoff"),
        BotUttered("staff alerted"),
        SlotSet("handoff_requested", True),
    )


def test_a_question_asked_with_a_crisis_is_answered_after_the_crisis_response():
    message = _crisis_with_question("took way too many tonight. is it time to get help?")
    t = _after_handoff(message)
    assert decide(t) == "utter_faq"
    t.update(ActionExecuted("utter_faq"))
    t.update(BotUttered("answer"))
    assert decide(t) == "action_listen"


@pytest.mark.parametrize(
    "message",
    [
        # not a question
        _crisis_with_question("took way too many tonight. bye"),
        # the answer selector was unsure
        _crisis_with_question("took way too many tonight. is it time to get help?", conf=0.4),
        # asking about amounts or mixing is never answered after a crisis
        _crisis_with_question(
            "i want to die, how many would it take?", categories=("method_seeking",)
        ),
        _crisis_with_question("took 20 tonight. is wine bad with it?", topic="faq/alcohol"),
    ],
)
def test_no_answer_after_a_crisis_when_it_was_no_question_unsure_or_about_means(message):
    assert decide(_after_handoff(message)) in (None, "action_listen")

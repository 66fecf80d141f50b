"""The SafetyScreen NLU component on its own: it has the last word on every message."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.safety_screen import SafetyScreen


def screened(text: str, intent: str = "faq", confidence: float = 0.9) -> Message:
    message = Message(
        data={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "entities": [],
        }
    )
    SafetyScreen().process([message])
    return message


@pytest.mark.parametrize(
    "text, classifier, expected",
    [
        ("i want to kill myself", "faq", "safety_crisis"),
        ("i want to kill myself", "greet", "safety_crisis"),
        ("i just took the whole bottle of my klonopin", "thank", "safety_emergency"),
    ],
)
def test_crisis_overrides_whatever_the_classifier_thought(text, classifier, expected):
    message = screened(text, classifier)
    assert message.get("intent") == {"name": expected, "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == expected
    safety = message.get("safety")
    assert safety["level"] in ("crisis", "emergency") and safety["evidence"]
    entities = {e["entity"]: e["value"] for e in message.get("entities")}
    assert entities["safety_level"] == safety["level"]
    assert entities["safety_variant"] == safety["variant"]


def test_ordinary_question_keeps_its_intent_and_records_a_none_assessment():
    message = screened("what is klonopin used for", "faq", 0.97)
    assert message.get("intent") == {"name": "faq", "confidence": 0.97}
    assert message.get("safety")["level"] == "none"
    assert message.get("entities") == []


def test_concern_keeps_a_faq_answer_but_redirects_anything_else():
    assert screened("can klonopin withdrawal cause seizures?", "faq").get("intent")["name"] == "faq"
    hopeless = screened("i feel so hopeless lately", "nlu_fallback", 0.4)
    assert hopeless.get("intent")["name"] == "safety_concern"
    assert screened("i feel so hopeless lately", "deny").get("intent")["name"] == "deny"
    # A concern about the person writing is not answered with whatever FAQ came closest...
    assert screened("i feel so hopeless lately", "faq").get("intent")["name"] == "safety_concern"
    # ...but when they ask something, the question is answered (the safety line follows).
    asked = screened("i feel so hopeless lately, is that the withdrawal?", "faq")
    assert asked.get("safety")["level"] == "concern"
    assert asked.get("intent")["name"] == "faq"
    assert (
        screened("i feel so hopeless lately. is that normal", "faq").get("intent")["name"] == "faq"
    )


def test_the_classifier_can_add_recall_but_never_remove_it():
    # The rules see nothing here; the classifier's safety intent stands, and says so.
    message = screened("so tired of all this", "safety_crisis", 0.93)
    assert message.get("intent")["name"] == "safety_crisis"
    safety = message.get("safety")
    assert safety["level"] == "crisis"
    assert safety["evidence"][-1]["pattern"] == "classifier"
    # The classifier saying "faq" never lowers what the rules found.
    assert screened("i want to die", "faq", 0.99).get("intent")["name"] == "safety_crisis"


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_messages_pass_through(text):
    message = Message(data={"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3}})
    SafetyScreen().process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get("safety") is None


def test_a_broken_detector_never_loses_the_message(monkeypatch):
    import bot.safety.conversation

    def boom(text):
        raise RuntimeError("detector bug")

    monkeypatch.setattr(bot.safety.conversation, "assess_cached", boom)
    message = screened("hello", "greet")
    assert message.get("intent")["name"] == "greet"
    assert message.get("safety")["error"] is True

"""The combined safety screen (bot/safety/screen.py): how the two layers combine, the
guards that may stop a learned-only escalation, and what happens when the learned layer
cannot run. The learned layer's verdict is replaced by a fixed one here, so each rule is
tested on its own; tests/safety/test_learned.py runs the trained head itself."""

from __future__ import annotations

import pytest

import bot.safety.learned as learned
import bot.safety.screen as screen
from bot.embeddings import EncoderError
from bot.safety import Level, assess, assess_conversation
from bot.safety.conversation import assess_cached
from bot.safety.learned import HeadMissing, Verdict

LEVELS = ("none", "concern", "crisis", "emergency")


def verdict(level: str, p: float = 0.95, domain: str = "suicide") -> Verdict:
    rest = (1.0 - p) / 3
    probs = {lv: (p if lv == level else rest) for lv in LEVELS}
    return Verdict(probs, level, "a training example", level, 0.8, domain)


@pytest.fixture
def model_says(monkeypatch):
    """Make the learned layer answer ``level`` for every message."""

    def set_level(level: str, domain: str = "suicide"):
        monkeypatch.setattr(learned, "judge", lambda text: verdict(level, domain=domain))
        assess_cached.cache_clear()

    yield set_level
    assess_cached.cache_clear()


def test_the_learned_layer_escalates_and_says_why(model_says):
    model_says("crisis")
    a = assess("everything feels pointless and i keep thinking about the train")
    assert a.level == Level.CRISIS
    model = a.evidence[0]
    assert model["source"] == "model" and model["level"] == "crisis"
    assert model["probability"] == pytest.approx(0.95, abs=1e-3)
    assert model["nearest_example"] == "a training example"
    assert "model" in a.categories and "suicidal_ideation" in a.categories


def test_a_withdrawal_escalation_gets_the_withdrawal_category(model_says):
    model_says("emergency", domain="withdrawal")
    a = assess("my arms keep jumping on their own and it is getting worse")
    assert a.level == Level.EMERGENCY and "severe_withdrawal" in a.categories


def test_the_learned_layer_never_lowers_the_patterns(model_says):
    model_says("none")
    a = assess("i took all my pills an hour ago")
    assert a.level == Level.EMERGENCY
    assert a.model["level"] == "none", "its opinion is kept for staff, not applied"


@pytest.mark.parametrize(
    "text, guard",
    [
        ("this taper is killing me", "idiom"),
        ("i'm not suicidal", "denial"),
        ("how many mg of klonopin is an overdose, asking for my pharmacology class", None),
        ("i took 2 pills this morning", "routine dose"),
    ],
)
def test_guards_stop_a_learned_only_escalation(model_says, text, guard):
    model_says("crisis")
    a = assess(text)
    assert a.level < Level.CRISIS, a
    reasons = [s["reason"] for s in a.suppressed if s.get("pattern") == "learned_layer"]
    if guard:
        assert reasons == [f"guard: {guard}"]


def test_a_question_about_something_happening_now_is_not_a_question_in_general(model_says):
    """Found in the final read: the question guard once kept this at concern."""
    model_says("emergency")
    a = assess("is it bad if my husband took the whole bottle an hour ago?")
    assert a.level == Level.EMERGENCY
    general = assess("what happens if someone took a whole bottle of klonopin?")
    assert general.level < Level.CRISIS


def test_a_denial_followed_by_a_disclosure_still_escalates(model_says):
    model_says("emergency")
    assert assess("I'm not suicidal, I just took all my pills").level == Level.EMERGENCY
    # Anything after a denial that could carry a disclosure keeps the model's say (even
    # the harmless "just tired": over-cautious on purpose).
    assert screen._guard(screen.detector.assess("im not suicidal")) == "denial"
    assert screen._guard(screen.detector.assess("im not suicidal, just tired")) is None
    assert screen._guard(screen.detector.assess("im not suicidal but i took them all")) is None


def test_guards_after_round_7(model_says):
    """Three guards that silenced real emergencies in blind round 7, now narrower."""
    model_says("emergency")
    # A dose taken with alcohol or another sedative is not a routine dose.
    assert assess("had 5 beers then took my dose plus a xanax, feel weird").level == (
        Level.EMERGENCY
    )
    assert assess("i took my dose twice by mistake, bit drowsy").level == Level.EMERGENCY
    assert screen._guard(screen.detector.assess("i took my 2 pills this morning")) == (
        "routine dose"
    )
    # A symptom getting worse as they write is not a question in general.
    assert assess("my legs keep jerking and its getting faster, is this a seizure?").level == (
        Level.EMERGENCY
    )
    # A long negated span can hold the disclosure itself.
    assert (
        screen._guard(
            screen.detector.assess("hadnt taken my evening dose so i took it plus an ativan")
        )
        is None
    )


def test_fiction_stops_only_a_learned_escalation_the_patterns_see_nothing_in(model_says):
    model_says("emergency")
    assert assess("replaying the last of us and my guy keeps getting strangled").level == (
        Level.NONE
    )
    # The patterns' own finding stands, with or without a game in the message.
    assert assess("been gaming all night, my stash of pills is ready").level == Level.EMERGENCY
    assert screen._guard(screen.detector.assess("that song about the bridge is on repeat")) == (
        "fiction"
    )
    assert screen._guard(screen.detector.assess("i feel like im drowning at work")) is None


def test_short_vague_messages_are_capped_at_concern(model_says):
    model_says("emergency")
    a = assess("everything is grey")
    assert a.level == Level.CONCERN
    assert a.model_risk <= screen.VAGUE_RISK_CAP
    # With a word of the risk vocabulary a short message is judged like any other.
    assert assess("pills in hand").level == Level.EMERGENCY


def test_slow_disclosure_across_turns(model_says, monkeypatch):
    """No turn alone reaches crisis; the learned layer's risk summed over three does."""
    risks = iter([0.45, 0.4, 0.5])

    def judge(text):
        r = next(risks)
        probs = {"none": 1 - r, "concern": 0.0, "crisis": r, "emergency": 0.0}
        return Verdict(probs, "none", "x", "none", 0.5, "suicide")

    monkeypatch.setattr(learned, "judge", judge)
    assess_cached.cache_clear()
    turns = [  # each longer than a "vague" message (bot.safety.screen.VAGUE_WORDS)
        "it has been a really rough week at work honestly",
        "been sleeping a lot lately, its easier than being awake",
        "honestly i am just so tired of all of it lately",
    ]
    risk = assess_conversation(turns)
    assert risk.level >= Level.CRISIS
    assert any("summed" in r for r in risk.reasons)


@pytest.mark.parametrize("error", [HeadMissing("no head"), EncoderError("hash mismatch")])
def test_without_the_learned_layer_the_patterns_verdict_stands(monkeypatch, error):
    def broken(text):
        raise error

    monkeypatch.setattr(learned, "judge", broken)
    a = assess("i want to kill myself")
    assert a.level == Level.CRISIS, "never a silent none for a message the patterns flag"
    assert a.model_error and type(error).__name__ in a.model_error
    assert assess("what is klonopin?").level == Level.NONE


def test_a_missing_head_fails_loudly_at_start_up(monkeypatch, tmp_path):
    monkeypatch.setattr(learned, "HEAD_DIR", tmp_path / "nothing here")
    monkeypatch.setattr(learned, "_head", None)
    with pytest.raises(HeadMissing, match="make train"):
        learned.load(tmp_path / "nothing here")


def test_empty_and_huge_messages_get_a_verdict(model_says):
    model_says("none")
    assert assess("").level == Level.NONE
    assert assess("   \n ").level == Level.NONE
    huge = "what is the taper schedule? " * 1800 + "i took all my pills"  # about 50 KB
    assert len(huge) > 50_000
    assert assess(huge).level == Level.EMERGENCY
    with pytest.raises(TypeError):
        assess(None)

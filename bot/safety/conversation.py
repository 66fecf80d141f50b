"""Risk across a conversation: accumulates per-message assessments turn by turn."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Iterable, List, Set

from bot.safety.detector import Assessment, Level

# Categories that count as "ideation present" for the cross-turn rules below.
_IDEATION = {"suicidal_ideation", "self_harm"}
_DISTRESS = _IDEATION | {"hopelessness"}
# Informational questions on these topics after distress count as method-seeking.
_METHOD_TOPICS = {"overdose", "method_seeking", "dangerous_mixing", "preparation"}


class ConversationRisk:
    """The risk level of a whole conversation, updated with each message's assessment.

    Rules (applied in :meth:`add`, in this order):

    1. Memory: the conversation level never goes down; it is the highest level of any
       turn so far (a denial after a risk signal does not end the safety pathway).
    2. Weak signals: each turn adds its weak signals (hopelessness, "what's the point",
       feeling like a burden, "can't keep doing this", ambiguous wishes to disappear...:
       the rules marked ``weak`` in ``bot/safety/patterns.py``), counted once per rule
       name per turn. With two or more weak signals in total, the conversation is at
       least ``concern`` (offer the screener), even if each turn alone was ``none``.
       With four or more weak signals spread over three or more turns (sustained
       hopelessness), it is at least ``crisis`` (a human should look).
    3. Cross-turn plan: current ideation or self-harm in an earlier turn, followed in a
       later turn by means at hand ("the pills are in front of me"), a stated readiness
       ("I have a plan", "I'm going to do it"), a short timeframe reply ("tonight", at most
       ``SHORT_REPLY_WORDS`` words) or a method-seeking question, makes the conversation
       ``emergency`` --
       the same rule the detector applies inside one message. Method-seeking after
       earlier hopelessness alone makes it at least ``crisis``. An "informational" question
       about overdose, lethal mixing or means ("can you overdose on klonopin?") counts as
       method-seeking when it follows distress.

    4. Slow disclosure (the learned layer): the model's P(crisis or above) summed over
       the last ``RECENT_TURNS`` user turns reaching ``SLOW_DISCLOSURE_SUM``, with at
       least two of those turns at ``SLOW_DISCLOSURE_TURN`` or more, makes the
       conversation at least ``crisis``: each turn alone stayed below the line, together
       they are a disclosure ("rough week" ... "dont see the point" ... "been giving my
       stuff away").

    ``risk.level`` is the current level, ``risk.weak_signals`` the weak-signal count,
    ``risk.to_dict()`` a JSON-serialisable summary.
    """

    WEAK_FOR_CONCERN = 2
    WEAK_FOR_CRISIS = 4
    TURNS_FOR_CRISIS = 3
    SHORT_REPLY_WORDS = 8
    RECENT_TURNS = 3
    SLOW_DISCLOSURE_SUM = 1.0
    SLOW_DISCLOSURE_TURN = 0.3

    def __init__(self) -> None:
        """Start an empty conversation at level ``none``."""
        self.level: Level = Level.NONE
        self.weak_signals: int = 0
        self.turns: int = 0
        self.weak_turns: int = 0
        self.categories: List[str] = []
        self.reasons: List[str] = []
        self._seen: Set[str] = set()
        self._recent_risk: List[float] = []

    def _raise(self, level: Level, reason: str) -> None:
        if level > self.level:
            self.level = level
            self.reasons.append(f"turn {self.turns}: {reason}")

    def add(self, assessment: Assessment) -> Level:
        """Add one message's assessment; return the conversation's current level."""
        if not isinstance(assessment, Assessment):
            raise TypeError("ConversationRisk.add() expects an Assessment from assess()")
        self.turns += 1
        self_cats = {
            e["category"] for e in assessment.evidence if "third_party" not in e.get("tags", [])
        }
        # means at hand / "going to do it" / a bare timeframe reply ("tonight")
        short = len(assessment.text.split()) <= self.SHORT_REPLY_WORDS
        context = {
            c["pattern"]
            for c in assessment.context
            if c["pattern"] in ("means_at_hand", "intent_do_it")
            or (c["pattern"] == "timeframe" and short)
        }
        earlier = set(self._seen)

        self._raise(assessment.level, f"message level {assessment.level.value}")

        if assessment.weak_signals:
            self.weak_signals += assessment.weak_signals
            self.weak_turns += 1
        if self.weak_signals >= self.WEAK_FOR_CONCERN:
            self._raise(Level.CONCERN, f"{self.weak_signals} weak signals across turns")
        if self.weak_signals >= self.WEAK_FOR_CRISIS and self.weak_turns >= self.TURNS_FOR_CRISIS:
            self._raise(Level.CRISIS, f"sustained weak signals over {self.weak_turns} turns")

        method = "method_seeking" in self_cats or any(
            e["category"] == "informational" and _METHOD_TOPICS & set(e.get("tags", []))
            for e in assessment.evidence
        )
        # A question in general (the patterns' "informational") adds no risk of its own:
        # two FAQ questions about overdose facts are not a slow disclosure.
        informational = "informational" in assessment.categories and assessment.level < Level.CRISIS
        turn_risk = 0.0 if informational else assessment.model_risk
        self._recent_risk = (self._recent_risk + [turn_risk])[-self.RECENT_TURNS :]
        raised = [r for r in self._recent_risk if r >= self.SLOW_DISCLOSURE_TURN]
        if sum(self._recent_risk) >= self.SLOW_DISCLOSURE_SUM and len(raised) >= 2:
            self._raise(Level.CRISIS, "learned layer: risk summed over the last turns")

        if earlier & _IDEATION and (context or method):
            self._raise(Level.EMERGENCY, "ideation earlier, then timeframe/means/method now")
        elif earlier & _DISTRESS and method:
            self._raise(Level.CRISIS, "distress earlier, method-seeking now")

        for cat in assessment.categories:
            if cat not in self.categories:
                self.categories.append(cat)
        self._seen |= {
            e["category"]
            for e in assessment.evidence
            if e["level"] != "none"
            and "third_party" not in e.get("tags", [])
            and e["category"] not in ("informational", "past_ideation")
        }
        return self.level

    def to_dict(self) -> Dict[str, Any]:
        """JSON-serialisable summary of the conversation's risk."""
        return {
            "level": self.level.value,
            "weak_signals": self.weak_signals,
            "turns": self.turns,
            "categories": list(self.categories),
            "reasons": list(self.reasons),
        }


__all__ = ["ConversationRisk"]


@lru_cache(maxsize=8192)
def assess_cached(text: str) -> Assessment:
    """:func:`assess`, cached by text (the detector is deterministic)."""
    from bot.safety.screen import assess

    return assess(text)


def assess_conversation(texts: Iterable[str]) -> ConversationRisk:
    """A :class:`ConversationRisk` over a conversation's user messages, in order.

    The dialogue (SafetyPolicy) and the safety actions both call this on the tracker's
    user messages, so they agree on the conversation's level. Assessments are cached by
    text: the detector is deterministic, and the same conversation is re-read each turn.
    """
    risk = ConversationRisk()
    for text in texts:
        if isinstance(text, str):
            risk.add(assess_cached(text))
    return risk

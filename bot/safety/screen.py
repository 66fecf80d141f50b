"""The safety screen: the pattern layer and the learned layer, combined.

:func:`assess` is what every caller uses (``from bot.safety import assess``):

1. The pattern layer (:mod:`bot.safety.detector`) screens the message: deterministic,
   explainable, with its own idiom, negation, question, time and person checks.
2. The learned layer (:mod:`bot.safety.learned`) gives its level from the message's
   embedding and n-grams. Its verdict is recorded as evidence staff can read (source
   ``model``, the probability, the nearest training example).
3. Combination: either layer can escalate; the learned layer never lowers the pattern
   layer's level (ARCHITECTURE.md). A learned-only escalation is stopped by three narrow,
   deterministic guards, each read off what the pattern layer saw:

   - ``idiom``: the only risk words were inside an idiom the patterns know ("this taper
     is killing me");
   - ``denial``: a risk word was negated ("I'm not suicidal") and nothing follows the
     denial that could carry a disclosure (no "but", "just", "except", "though", "pero",
     "only"...: "I'm not suicidal, I just took all my pills" still escalates);
   - ``question in general``: the pattern layer read it as an informational question
     ("how many mg of klonopin is an overdose, asking for class") and found nothing about
     the writer, and nothing says it is happening now ("an hour ago", "tonight", "won't
     wake up" keep the model's say: "is it bad if my husband took the whole bottle an
     hour ago?" is an emergency);
   - ``vague``: six words or fewer and not one word of the risk vocabulary ("everything
     is grey", "im exhausted by all of it"): the head is over-confident on short text it
     has little to go on, so such a message is capped at ``concern`` (flagged for review,
     not a crisis) and counts little towards a slow disclosure;
   - ``routine dose``: taking one, two or three pills, or "my dose", or a few mg of a
     supplement or painkiller, with no word of excess ("i took 2 pills this morning",
     "i took 5mg of melatonin"), where the model leans on "took ... pills".

If the learned layer cannot run (model files missing or damaged, the encoder refused a
hash), the pattern layer's verdict stands, the assessment says so in ``model_error``, and
the error is logged once: the screen never answers a silent ``none`` for a message the
patterns flag. The Rasa component loads both layers at start-up (:func:`warm_up`), so a
broken install fails there, loudly, not on a patient's message.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import List, Optional, Set

from bot.safety import detector
from bot.safety.detector import Assessment, Level

logger = logging.getLogger(__name__)

# After a denial, these words may start a disclosure: the denial guard does not apply.
_CONTRAST = re.compile(
    r"\b(but|just|except|though|although|however|only|still|yet|pero|solo|sólo|aunque|"
    r"anyway|anyways|already|took|taken|have|has|had)\b",
    re.IGNORECASE,
)
_ROUTINE_DOSE = re.compile(
    r"\b(took|take|taken|taking|had|have)\s+(my|a|one|1|two|2|three|3|half( a)?|an?)\s+"
    r"(\w+\s+){0,2}(pill|pills|tablet|tablets|tab|tabs|dose|doses|mg|klonopin|clonazepam)\b"
    # an ordinary dose of an over-the-counter supplement or painkiller
    r"|\b(took|take|taken|taking|had)\s+\d{1,3}\s?(mg|mcg)\s+(of\s+)?(my\s+)?"
    r"(melatonin|magnesium|vitamin\w*|zinc|iron|ibuprofen|advil|tylenol|aspirin|benadryl)\b",
    re.IGNORECASE,
)
_EXCESS = re.compile(
    r"\b(all|whole|entire|bottle|too many|too much|handful|extra|bunch|rest|overdose|od|"
    r"stash|everything|\d{2,}|twice|double|again|"
    # mixing: the dose is routine, what it was taken with is not
    r"shots?|drinks?|drank|drunk|beers?|wine|vodka|whiskey|tequila|plus|ativan|xanax|valium|"
    r"oxy\w*|fent\w*|percs?|lean)\b",
    re.IGNORECASE,
)
_HAPPENING = re.compile(
    r"\b(now|right now|just|tonight|today|this (morning|afternoon|evening)|ago|earlier|"
    r"won'?t wake|wont wake|can'?t wake|cant wake|not breathing|unresponsive|passed out|"
    r"ahora|hace (una|un|\d+)|"
    # getting worse as they write: "its getting faster. is this a seizure coming"
    r"getting (worse|faster|stronger|more)|won'?t stop|wont stop|can'?t stop|cant stop)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-záéíóúñü']+")
# Words that give a short message something to go on: with one of these, a short message
# is judged like any other (e.g. "tonight.", "pills in hand", "bye everyone").
_RISK_VOCABULARY = frozenset(
    """die dying dead death kill killing suicide suicidal kms unalive od overdose overdosed
    pills pill bottle took swallowed cut cutting blade razor bleed bleeding blood hurt hang
    rope noose jump bridge gun shoot end ending goodbye bye farewell tonight forever sleep
    wake seizure seizing shaking convulsing voices hallucinating breathing unresponsive
    safe plan note letter morir matarme muerte pastillas adios suicidio mundo
    cortar cortarme corté cortando matar vivir morirme suicidarme""".split()
)


def _risk_words(words: List[str]) -> Set[str]:
    """The message's words as the pattern layer would read them, for the vague check.

    Spelling and SMS forms count ("endin" is "ending", "suicidial" is "suicidal"): blind
    round 13 lost "thinkin bout endin it all tbh" to the vague cap.
    """
    out: Set[str] = set()
    for word in words:
        out.add(word)
        out.add(detector.normal_form(word))
        if word.endswith("in"):
            out.add(word + "g")  # dropped g: thinkin, endin, cuttin
    return out


# A game, a show, a book or a song named in the message: the model reads "my guy got
# strangled again" as a disclosure (blind rounds 8 and 9). Only a learned-only escalation
# where the patterns saw nothing at all is stopped: "been gaming all night, my stash of
# pills is ready" still escalates on the patterns (tests/safety/test_screen.py).
_FICTION = re.compile(
    r"\b(video ?games?|gaming|episode|movie|film|novel|lyrics?|song|album|podcast|netflix|"
    r"anime|my character|the last of us|elden ring|dark souls|fortnite|minecraft)\b",
    re.IGNORECASE,
)
VAGUE_WORDS = 6
VAGUE_RISK_CAP = 0.25
_logged_error = threading.Event()


def _guard(patterns: Assessment) -> Optional[str]:
    """Why a learned-only escalation of this message should not stand, or None."""
    reasons = [s.get("reason", "") for s in patterns.suppressed]
    categories = set(patterns.categories)
    if reasons and all(r == "idiom" for r in reasons) and patterns.level == Level.NONE:
        return "idiom"
    asked_in_general = "informational" in categories and (
        not patterns.about_self or categories <= {"informational"}
    )
    if patterns.level == Level.NONE and not patterns.categories and _FICTION.search(patterns.text):
        return "fiction"
    # Not when it is happening: "is it bad if my husband took the whole bottle an hour
    # ago?" is a question about an emergency now, not one in general.
    if asked_in_general and not _HAPPENING.search(patterns.text):
        return "question in general"
    if (
        patterns.level == Level.NONE
        and _ROUTINE_DOSE.search(patterns.text)
        and not _EXCESS.search(patterns.text)
    ):
        return "routine dose"
    if any(r.startswith("negated") for r in reasons) and patterns.level == Level.NONE:
        spans = [s.get("text", "") for s in patterns.suppressed if s["reason"].startswith("neg")]
        lowered = patterns.text.lower()
        # Look from just after the span's first word: a long negated span can hold the
        # disclosure itself ("hadnt taken my evening dose so i took it plus an ativan").
        after = max(
            (lowered.find(t.lower()) + len(t.split()[0]) for t in spans if t.strip()),
            default=0,
        )
        if not _CONTRAST.search(lowered[after:]):
            return "denial"
    return None


def _verdict(text: str):
    from bot.embeddings import EncoderError
    from bot.safety.learned import HeadMissing, judge

    try:
        return judge(text), None
    except (HeadMissing, EncoderError) as exc:
        if not _logged_error.is_set():
            _logged_error.set()
            logger.error("learned safety layer unavailable, patterns only: %s", exc)
        return None, f"{type(exc).__name__}: {exc}"


def assess(text: str) -> Assessment:
    """Screen one message with both layers; see the module docstring for the rules.

    Raises TypeError when ``text`` is not a str. Empty or blank text is ``none``.
    """
    result = detector.assess(text)
    if not text.strip():
        return result
    verdict, error = _verdict(text)
    if verdict is None:
        result.model_error = error
        return result
    result.model = verdict.evidence()
    result.model_risk = verdict.risk
    learned = Level(verdict.level)
    if learned <= result.level:
        if learned > Level.NONE:
            result.evidence.append(verdict.evidence())  # agreement, for staff to read
        return result
    guard = _guard(result)
    if guard is not None:
        result.suppressed.append(
            {"pattern": "learned_layer", "text": verdict.level, "reason": f"guard: {guard}"}
        )
        return result
    words = _WORD.findall(text.lower())
    if len(words) <= VAGUE_WORDS and not _RISK_VOCABULARY.intersection(_risk_words(words)):
        result.model_risk = min(result.model_risk, VAGUE_RISK_CAP)
        if learned > Level.CONCERN:
            result.suppressed.append(
                {"pattern": "learned_layer", "text": verdict.level, "reason": "guard: vague"}
            )
            learned = Level.CONCERN
        if learned <= result.level:
            return result
    result.level = learned
    result.evidence.insert(0, verdict.evidence())
    added = ["model"]
    if learned >= Level.CRISIS:
        added.append("severe_withdrawal" if verdict.domain == "withdrawal" else "suicidal_ideation")
    for category in added:
        if category not in result.categories:
            result.categories.append(category)
    return result


def warm_up() -> None:
    """Load the pattern layer, the encoder and the head now (fails loudly if broken)."""
    from bot.embeddings import encode_one
    from bot.safety.learned import get_head

    detector.warm_up()
    get_head()
    encode_one("warm up")

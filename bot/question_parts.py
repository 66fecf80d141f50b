"""Messages that ask two things: find the parts, and offer the one the answer left out.

The FAQ answers one topic per message (the ResponseSelector's first choice). When a
message asks two questions ("does klonopin help with depression, and should I tell my
doctor?"), the reply gives that answer and then offers the other question, as a button
whose payload is the patient's own words, so one tap (or "1" by SMS) asks it on its own.

Which part was answered is read off the sentence embeddings (:mod:`bot.embeddings`, the
vectors the safety screen and the featurizer already compute): the part closest to the
answer's text is the one answered; the other is offered.

Pure functions over text, no Rasa: :class:`bot.nlg.ClinicNLG` calls :func:`offer_for`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np

# Words a question starts with (English and the Spanish our patients mix in).
_QUESTION_WORD = (
    r"(?:does|do|did|is|are|was|were|am|can|could|should|would|will|how|what|whats|why|"
    r"when|where|which|who|qu[eé]|c[oó]mo|cu[aá]ndo|por qu[eé]|puedo|es)"
)
# A sentence ends at ? ! or . followed by space (not inside "0.5" or "e.g.x").
_SENTENCE_END = re.compile(r"(?<=[?!.])\s+")
# Inside one sentence, "..., and should I ..." / "... and how long ..." starts a second one.
_JOINED_QUESTION = re.compile(
    rf"(?:,\s*|\s+)(?:and|also|plus|or|y)\s+(?=(?:also\s+)?{_QUESTION_WORD}\b)", re.IGNORECASE
)
_STARTS_AS_QUESTION = re.compile(rf"^(?:and\s+|also\s+|so\s+)?{_QUESTION_WORD}\b", re.IGNORECASE)
_LEADING_JOINER = re.compile(r"^(?:and|also|so|plus)\s+", re.IGNORECASE)
MIN_WORDS = 3  # "and why?" is not a question of its own
MAX_CHARS = 1000  # longer messages are stories with questions in them, not two questions


def question_parts(text: str) -> List[str]:
    """The questions a message asks, in order ([] or one item when it asks one thing).

    A part is a question when it ends with "?" or starts with a question word, and has
    at least three words. Statements around the questions (context) are left out.
    """
    text = " ".join((text or "").split())
    if not text or len(text) > MAX_CHARS:
        return []
    parts: List[str] = []
    for sentence in _SENTENCE_END.split(text):
        pieces = _merge_dangling(_JOINED_QUESTION.split(sentence))
        for i, piece in enumerate(pieces):
            piece = piece.strip(" ,;")
            # A joined piece ("and should I ...") inherits its sentence's question mark.
            is_question = piece.endswith("?") or bool(_STARTS_AS_QUESTION.match(piece))
            if i < len(pieces) - 1 and sentence.rstrip().endswith("?"):
                is_question = True
            piece = _LEADING_JOINER.sub("", piece)
            if is_question and len(piece.split()) >= MIN_WORDS:
                parts.append(piece if piece.endswith("?") else piece + "?")
    return parts


def _merge_dangling(pieces: List[str]) -> List[str]:
    """Undo a split after a bare question word: "do you know when and where it meets"."""
    merged: List[str] = []
    for piece in pieces:
        if merged and re.search(rf"\b{_QUESTION_WORD}\W*$", merged[-1], re.IGNORECASE):
            merged[-1] = f"{merged[-1]} and {piece}"
        else:
            merged.append(piece)
    return merged


@dataclass(frozen=True)
class Offer:
    """The other question of a two-question message, offered after the answer."""

    question: str

    @property
    def text(self) -> str:
        return (
            # Plain quotes: curly ones would switch a whole SMS to UCS-2 (70 characters a
            # segment instead of 160).
            f'You also asked: "{self.question}" Tap it below, or send it as a '
            "message of its own, and I will answer that too."
        )

    @property
    def button(self) -> dict:
        return {"title": self.question, "payload": self.question}


def _answer_body(answer_text: str) -> str:
    """The answer without its "Sources:" line (document names say nothing of the topic)."""
    return answer_text.split("\n\nSources:")[0]


def offer_for(
    message: str,
    answer_text: str,
    encode: Optional[Callable[[Sequence[str]], np.ndarray]] = None,
) -> Optional[Offer]:
    """The question to offer after ``answer_text``, or None when the message asks one thing.

    ``encode`` maps texts to unit-norm vectors (default: the shared sentence encoder).
    """
    parts = question_parts(message)
    if len(parts) < 2:
        return None
    if encode is None:
        from bot.embeddings import encode as encode  # loaded lazily, shared cache
    vectors = np.asarray(encode([_answer_body(answer_text), *parts]), dtype=np.float32)
    similarity = vectors[1:] @ vectors[0]
    answered = int(np.argmax(similarity))
    # The first question the answer did not cover (patients put the main one first).
    other = next(i for i in range(len(parts)) if i != answered)
    return Offer(parts[other])

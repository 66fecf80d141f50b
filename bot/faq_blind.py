"""FAQ blind rounds: questions written by people who never saw ``data/``, asked over REST.

A round is ``tests/nlu/blind/roundN.tsv`` (question, fact, source, style): the fact is the
one a right answer must contain. Scoring has two steps, because "contains the fact" is a
judgement, not a string match:

1. :func:`ask_round` sends every question, each in a conversation of its own, and records
   which FAQ answers came back (their topics, found from the answer text) and whether a
   crisis block came with them. ``scripts/eval_nlu.py --blind N`` writes this to
   ``results/faq_blind_roundN.tsv`` for a reader.
2. A reader who has not seen ``data/`` marks each (question, answer topic) right or wrong
   in ``tests/nlu/blind/roundN.judged.tsv`` (question, topic, right). Judgements
   accumulate: a later model that answers with a topic already judged for that question
   is scored without a new reading; a pair never judged is reported as unjudged.

The README of the folder holds the table of rounds: each round's figure measured before
anything was learned from it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from bot.knowledge import ROOT, load_answers

BLIND_DIR = ROOT / "tests" / "nlu" / "blind"
NO_ANSWER = "-"  # the topic recorded when no FAQ answer came back

# A reply carries a crisis block when it names a crisis line (the numbers come from
# clinic.yml; these words are in every crisis wording, bot/crisis.py).
_CRISIS_MARKERS = re.compile(r"\b988\b|crisis text line|call 911", re.IGNORECASE)


@dataclass
class Asked:
    """One blind question and what the assistant answered."""

    question: str
    fact: str
    style: str
    topics: List[str]
    crisis_block: bool
    reply: str


@dataclass
class Score:
    """A round's figures from the accumulated judgements."""

    total: int = 0
    right: int = 0
    unjudged: List[Tuple[str, str]] = field(default_factory=list)
    crisis_blocks: int = 0
    by_style: Dict[str, List[int]] = field(default_factory=dict)  # style -> [right, total]

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else float("nan")


def round_files() -> List[Path]:
    """The committed rounds (``roundN.tsv``, not their ``.judged`` files), in round order."""
    rounds = [p for p in BLIND_DIR.glob("round*.tsv") if not p.stem.endswith("judged")]
    return sorted(rounds, key=lambda p: int("".join(c for c in p.stem if c.isdigit()) or 0))


def read_round(path: Path) -> List[Dict[str, str]]:
    """The rows of a blind round file (quoting off: no tabs or newlines in a cell)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))[:120]


def topic_index() -> Dict[str, str]:
    """Normalised opening of every FAQ answer -> its topic."""
    return {_key(a.text): a.topic for a in load_answers()}


def topics_of(texts: Sequence[str], index: Dict[str, str]) -> List[str]:
    """The FAQ topics among a reply's texts (an answer is known by its opening words)."""
    found = []
    for text in texts:
        key = _key(text)
        for opening, topic in index.items():
            if key and (key.startswith(opening[:80]) or opening.startswith(key[:80])):
                found.append(topic)
                break
    return found


def ask_round(rows: Sequence[Dict[str, str]], say: Callable[[str, str], List[str]], tag: str):
    """Ask every question in a fresh conversation; :class:`Asked` per row."""
    index = topic_index()
    out = []
    for i, row in enumerate(rows):
        texts = say(f"faq-blind-{tag}-{i}", row["question"])
        per_text = [topics_of([t], index) for t in texts]
        topics = [topic for found in per_text for topic in found] or [NO_ANSWER]
        # An FAQ answer may name 988 itself; a crisis block is any other text that does.
        crisis = any(
            _CRISIS_MARKERS.search(t) for t, found in zip(texts, per_text, strict=True) if not found
        )
        out.append(
            Asked(row["question"], row["fact"], row["style"], topics, crisis, "\n".join(texts))
        )
    return out


def write_asked(asked: Sequence[Asked], path: Path) -> None:
    """The answers for a reader: question, fact, topics, crisis block, reply (one line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        w.writerow(["question", "fact", "style", "topics", "crisis_block", "reply"])
        for a in asked:
            reply = a.reply.replace("\t", " ").replace("\n", " / ")
            w.writerow([a.question, a.fact, a.style, ",".join(a.topics), a.crisis_block, reply])


def read_judgements(path: Path) -> Dict[Tuple[str, str], bool]:
    """(question, topic) -> right, from a judged file (question, topic, right: yes/no)."""
    if not path.exists():
        return {}
    return {
        (r["question"], r["topic"]): r["right"].strip().lower() == "yes" for r in read_round(path)
    }


def score(asked: Sequence[Asked], judged: Dict[Tuple[str, str], bool]) -> Score:
    """Right when the reply's first FAQ answer was judged to contain the fact.

    The first answer counts: a patient reads the first one as the answer to their question.
    """
    s = Score()
    for a in asked:
        s.total += 1
        s.crisis_blocks += a.crisis_block
        topic = a.topics[0]
        verdict: Optional[bool] = judged.get((a.question, topic))
        if verdict is None:
            s.unjudged.append((a.question, topic))
            verdict = False
        s.right += verdict
        right_total = s.by_style.setdefault(a.style, [0, 0])
        right_total[0] += verdict
        right_total[1] += 1
    return s


def judged_topics(judged: Dict[Tuple[str, str], bool]) -> Dict[str, Set[str]]:
    """question -> the topics judged right for it (for reading errors)."""
    out: Dict[str, Set[str]] = {}
    for (question, topic), right in judged.items():
        if right:
            out.setdefault(question, set()).add(topic)
    return out

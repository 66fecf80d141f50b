"""The labelled messages the learned safety layer is trained on, from one place.

Sources (each row: text, level, kind, source):

- ``data/safety/*.tsv``: the training corpus, written for it by people who had not read
  the patterns (suicide and self-harm; withdrawal, overdose, mixing, psychosis, seizures
  and ordinary questions), with hard negatives that share the vocabulary;
- ``tests/safety/corpus.tsv``: the team's corpus (the patterns' regression set);
- ``tests/safety/blind/roundN.tsv``: blind rounds, but only those already scored
  untuned: a round joins training once its row is in the table of
  ``tests/safety/blind/README.md``, never before (a round that is written but not yet
  scored stays out, so its figures stay honest);
- the NLU examples of ``data/nlu/`` except the safety intents, as level ``none``
  (ordinary questions and chit-chat).

``../shared/eval/public`` is never read here: those sets measure, they do not teach.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
LEVELS = ("none", "concern", "crisis", "emergency")
TRAINING_DIR = ROOT / "data" / "safety"
TEAM_CORPUS = ROOT / "tests" / "safety" / "corpus.tsv"
BLIND_DIR = ROOT / "tests" / "safety" / "blind"
NLU_DIR = ROOT / "data" / "nlu"
# NLU intents that carry risk: their examples are not "none".
SAFETY_NLU_FILES = {"safety.yml"}
# Kinds whose wording (not level) says the message is about withdrawal, overdose or
# mixing rather than suicide or self-harm: used to pick the crisis wording's variant.
_WITHDRAWAL_KIND = re.compile(
    r"seiz|psycho|halluc|confus|delir|mix|resp|myoclon|tremor|withdraw|overdose|od_|"
    r"cold_turkey|abrupt|stop|paranoi|panic|drink|street|taking_more|double"
)


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    level: str
    kind: str
    source: str

    @property
    def domain(self) -> str:
        """``withdrawal`` or ``suicide``: which family of risk the kind belongs to."""
        return "withdrawal" if _WITHDRAWAL_KIND.search(self.kind) else "suicide"


def _read_tsv(path: Path, source: str) -> List[Example]:
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            text, level = (row.get("text") or "").strip(), (row.get("level") or "").strip()
            if not text:
                continue
            if level not in LEVELS:
                raise ValueError(f"{path.name}: unknown level {level!r} for {text[:40]!r}")
            rows.append(Example(text, level, (row.get("kind") or "").strip(), source))
    return rows


def scored_rounds(blind_dir: Path = BLIND_DIR) -> List[int]:
    """Round numbers that have a row in the blind README's table (scored untuned)."""
    readme = blind_dir / "README.md"
    if not readme.exists():
        return []
    # Only the table of single-message rounds: the conversations' table below it has rows
    # numbered the same way.
    text = readme.read_text(encoding="utf-8").split("## Blind conversations")[0]
    found = re.findall(r"^\|\s*(\d+)\s*\|", text, re.M)
    return sorted({int(n) for n in found})


def blind_examples(blind_dir: Path = BLIND_DIR) -> List[Example]:
    """The blind rounds that may be trained on (see :func:`scored_rounds`)."""
    rows: List[Example] = []
    for number in scored_rounds(blind_dir):
        path = blind_dir / f"round{number}.tsv"
        if path.exists():
            rows += _read_tsv(path, f"blind/round{number}")
    return rows


def nlu_examples(nlu_dir: Path = NLU_DIR) -> List[Example]:
    """Examples of the non-safety NLU intents, as level ``none``."""
    rows: List[Example] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        if path.name in SAFETY_NLU_FILES:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            intent = block.get("intent")
            if not intent:
                continue
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip()
                if text.startswith("- "):
                    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text[2:].strip())
                    if text:
                        rows.append(Example(text, "none", f"nlu:{intent}", "nlu"))
    return rows


def load_examples() -> List[Example]:
    """Every training example, de-duplicated by lower-cased text (first source wins)."""
    rows: List[Example] = []
    for path in sorted(TRAINING_DIR.glob("*.tsv")):
        rows += _read_tsv(path, f"data/safety/{path.name}")
    rows += _read_tsv(TEAM_CORPUS, "team_corpus")
    rows += blind_examples()
    rows += nlu_examples()
    seen, unique = set(), []
    for row in rows:
        key = " ".join(row.text.lower().split())
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique

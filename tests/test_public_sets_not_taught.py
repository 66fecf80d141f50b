"""The public evaluation sets measure; they never teach (training data, corpus, patterns)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from tests.conftest import ROOT, SHARED

PUBLIC = SHARED / "eval" / "public"


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def _public_texts() -> set:
    assert PUBLIC.is_dir(), "shared/eval/public must sit beside the repository"
    texts = set()
    for path in PUBLIC.glob("*.tsv"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            texts |= {_norm(cell) for cell in line.split("\t") if len(cell) > 15}
    return texts


def test_team_safety_corpus_shares_no_message_with_the_public_sets():
    with open(ROOT / "tests" / "safety" / "corpus.tsv", encoding="utf-8", newline="") as fh:
        corpus = {
            _norm(r["text"]) for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        }
    assert not corpus & _public_texts()


def test_no_public_message_appears_inside_the_detector_patterns():
    patterns = _norm(Path(ROOT / "bot" / "safety" / "patterns.py").read_text(encoding="utf-8"))
    long_public = [t for t in _public_texts() if len(t.split()) >= 6]
    assert not [t for t in long_public if t in patterns]


def test_no_public_message_is_in_the_learned_layers_training_data():
    """The learned safety layer trains on data/safety/ and the scored blind rounds; none
    of them may hold a public message (one did, word for word, until this test)."""
    from bot.safety.training_data import load_examples

    public = _public_texts()
    taught = [e for e in load_examples() if _norm(e.text) in public]
    assert not taught, [(e.source, e.text[:60]) for e in taught]

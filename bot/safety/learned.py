"""The learned safety layer: a small head on all-MiniLM-L6-v2 sentence embeddings.

It predicts the four levels (none, concern, crisis, emergency) of one message from two
views of it: its sentence embedding (:mod:`bot.embeddings`, shared with anything else
that needs the message's vector) and TF-IDF character and word n-grams (which keep what
a generic embedding blurs: "took", "pills", "floor", and misspellings of them). One
multinomial logistic regression over both. Trained by ``make train``
(``python -m bot.safety.learned train --if-needed``) on :mod:`bot.safety.training_data`,
deterministic, and saved next to the Rasa model in ``models/safety_head/``, so
``make run`` never retrains it.

Why this head: on blind round 1 (held out), an MLP on the embedding alone caught 0.73 of
crises at 0.05 false escalation; the same data through this head caught 0.84 at 0.01
(model alone, out-of-fold thresholds at a 2% budget). The table of blind rounds
(tests/safety/blind/README.md) has the figures that count.

Files in ``models/safety_head/``:

- ``head.pkl``: the fitted n-gram vectorisers and the regression (scikit-learn, pinned);
- ``meta.json``: thresholds, training figures, the inputs' digest;
- ``neighbours.npz`` + ``neighbours.json``: the training examples' embeddings (float16)
  and texts, for the nearest training example that staff see as evidence.

Thresholds (chosen on out-of-fold predictions of the training data, see :func:`train`):
the model says ``emergency`` when P(emergency) >= ``t_emergency``, ``crisis`` when
P(crisis) + P(emergency) >= ``t_crisis``, ``concern`` when P(not none) >= ``t_concern``.
How its verdict combines with the patterns is :mod:`bot.safety.screen`'s business.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from bot.safety.training_data import LEVELS, ROOT, Example, load_examples

HEAD_DIR = ROOT / "models" / "safety_head"
SEED = 20261202  # the folds of the out-of-fold thresholds
# Out-of-fold budgets for the thresholds: the share of harmless training messages the
# model alone may push to crisis or above, and to concern or above. The harmless training
# messages are hard on purpose (written to share the vocabulary), so a budget on them is
# stricter than it sounds. Chosen on blind round 7 (scored and recorded before anything
# was learned from it; heads trained without it): at 1% the model alone caught 0.82 of its
# crises and rated 0.83 of emergencies right, at 2% 0.94 and 1.00, adding one false
# escalation in 125 (0.008). 2% costs public Twitter false alarms (see docs/safety.md).
# The budget holds for each escalating rule on its own (crisis: P(crisis)+P(emergency) on
# harmless messages; emergency: P(emergency) on harmless and concern messages), so together
# the model alone may escalate up to twice the budget of harmless training messages; the
# combined out-of-fold figure is in meta.json (0.028 for the head of 2026-12-02).
# Tried at 3% on 2026-12-07 (leave-one-round-out on blind rounds 9-12, a head trained
# without round k and the whole screen scored on round k, mean of the four: at 2% recall
# 0.893, emergency 0.846, false escalation 0.015, concern 0.877; at 3% 0.911, 0.861, 0.021,
# 0.894) and scored so on rounds 13 and 14. On both fresh rounds the budget changed recall
# by at most 0.02 and false escalations came from the patterns, while at 3% the head began
# to rate a third party's possible self-harm a crisis and a benzo with drinks an emergency
# (tests/safety/test_detector.py); back to 2%. Weighting the blind rounds twice gained
# nothing.
ESCALATION_BUDGET = 0.02
CONCERN_BUDGET = 0.06


class HeadMissing(RuntimeError):
    """The trained head is not there (run ``make train``) or cannot be read."""


@dataclass(frozen=True)
class Verdict:
    """The learned layer's opinion of one message."""

    probabilities: Dict[str, float]
    level: str
    nearest_text: str
    nearest_level: str
    nearest_similarity: float
    domain: str  # "suicide" or "withdrawal": the nearest risky example's family

    @property
    def risk(self) -> float:
        """P(crisis) + P(emergency): what the conversation screen sums over turns."""
        return self.probabilities["crisis"] + self.probabilities["emergency"]

    def evidence(self) -> Dict[str, object]:
        """The evidence entry staff read: source, probability, nearest training example."""
        return {
            "source": "model",
            "pattern": "learned_layer",
            "category": "model",
            "level": self.level,
            "probability": round(self.probabilities[self.level], 3),
            "probabilities": {k: round(v, 3) for k, v in self.probabilities.items()},
            "nearest_example": self.nearest_text,
            "nearest_level": self.nearest_level,
            "text": f"model: {self.level} (p={self.probabilities[self.level]:.2f})",
        }


# --------------------------------------------------------------------------------------
# The head: n-gram TF-IDF + embedding, one logistic regression
# --------------------------------------------------------------------------------------

EMBEDDING_WEIGHT = 1.0  # scale of the embedding block beside the unit-norm TF-IDF blocks
C = 10.0


def _vectorisers():
    from sklearn.feature_extraction.text import TfidfVectorizer

    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, dtype=np.float32
    )
    words = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True, dtype=np.float32
    )
    return chars, words


def _features(chars, words, texts: Sequence[str], vectors: np.ndarray):
    from scipy.sparse import csr_matrix, hstack

    return hstack(
        [chars.transform(texts), words.transform(texts), csr_matrix(vectors * EMBEDDING_WEIGHT)]
    ).tocsr()


@dataclass
class Head:
    """The fitted model, thresholds and the nearest-example index of a trained head."""

    chars: object
    words: object
    classifier: object
    thresholds: Dict[str, float]
    neighbours: np.ndarray  # (n, 384) unit norm: float16 on disk, float32 once loaded
    neighbour_texts: List[str]
    neighbour_levels: List[str]
    neighbour_domains: List[str]
    meta: Dict[str, object]

    def __post_init__(self) -> None:
        # Index arrays once: building them from the lists on every message cost ~0.8 ms.
        levels = np.array(self.neighbour_levels)
        self._by_level = {lv: np.flatnonzero(levels == lv) for lv in LEVELS}
        self._risky = np.flatnonzero((levels == "crisis") | (levels == "emergency"))

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """P(level) for each text (with its embedding): (n, 4) in LEVELS order."""
        return self.classifier.predict_proba(_features(self.chars, self.words, texts, vectors))

    def level_of(self, p: np.ndarray) -> str:
        """The level the thresholds give a row of probabilities."""
        return level_of(p, self.thresholds)

    def verdict(self, text: str, vector: np.ndarray) -> Verdict:
        """The verdict for one message and its embedding (384,)."""
        p = self.probabilities([text], vector[None, :])[0]
        level = self.level_of(p)
        sims = self.neighbours @ vector
        # The nearest example of the predicted level (what the model likened it to).
        same = self._by_level[level]
        best = int(same[np.argmax(sims[same])]) if len(same) else int(np.argmax(sims))
        risky = self._risky
        domain = self.neighbour_domains[int(risky[np.argmax(sims[risky])])] if len(risky) else ""
        return Verdict(
            probabilities={lv: float(p[i]) for i, lv in enumerate(LEVELS)},
            level=level,
            nearest_text=self.neighbour_texts[best],
            nearest_level=self.neighbour_levels[best],
            nearest_similarity=float(sims[best]),
            domain=domain or "suicide",
        )


def level_of(p: np.ndarray, thresholds: Dict[str, float]) -> str:
    """The level thresholds give one row of probabilities (LEVELS order)."""
    if p[3] >= thresholds["emergency"]:
        return "emergency"
    if p[2] + p[3] >= thresholds["crisis"]:
        return "crisis"
    if 1.0 - p[0] >= thresholds["concern"]:
        return "concern"
    return "none"


def save(head: Head, out_dir: Path) -> None:
    """Write the head's files into ``out_dir`` (each replaced whole)."""
    import pickle

    out_dir.mkdir(parents=True, exist_ok=True)

    def replace(name: str, write) -> None:
        tmp = out_dir / f"{name}.tmp"
        with open(tmp, "wb") as fh:
            write(fh)
        tmp.replace(out_dir / name)

    replace("head.pkl", lambda fh: pickle.dump((head.chars, head.words, head.classifier), fh))
    halves = head.neighbours.astype(np.float16)
    replace("neighbours.npz", lambda fh: np.savez(fh, vectors=halves))
    texts = {
        "texts": head.neighbour_texts,
        "levels": head.neighbour_levels,
        "domains": head.neighbour_domains,
    }
    replace("neighbours.json", lambda fh: fh.write(json.dumps(texts, ensure_ascii=False).encode()))
    meta = {**head.meta, "thresholds": head.thresholds}
    replace("meta.json", lambda fh: fh.write(json.dumps(meta, indent=2).encode() + b"\n"))


def load(head_dir: Path = HEAD_DIR) -> Head:
    """Read a trained head; HeadMissing when it is not there or broken."""
    import pickle

    try:
        with open(head_dir / "head.pkl", "rb") as fh:
            chars, words, classifier = pickle.load(fh)  # our own file, written by train()
        vectors = np.load(head_dir / "neighbours.npz")["vectors"]
        texts = json.loads((head_dir / "neighbours.json").read_text(encoding="utf-8"))
        meta = json.loads((head_dir / "meta.json").read_text(encoding="utf-8"))
        thresholds = {k: float(meta["thresholds"][k]) for k in ("emergency", "crisis", "concern")}
    except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError) as exc:
        raise HeadMissing(
            f"the learned safety layer is not trained or is damaged ({head_dir}): "
            f"run `make train` ({type(exc).__name__}: {exc})"
        ) from exc
    return Head(
        chars=chars,
        words=words,
        classifier=classifier,
        thresholds=thresholds,
        # float32 once, here: converting 6,000 x 384 halves on every message cost ~4 ms.
        neighbours=vectors.astype(np.float32),
        neighbour_texts=texts["texts"],
        neighbour_levels=texts["levels"],
        neighbour_domains=texts["domains"],
        meta=meta,
    )


_lock = threading.Lock()
_head: Optional[Head] = None


def get_head() -> Head:
    """The trained head, loaded once per process (lazily, thread-safe)."""
    global _head
    if _head is None:
        with _lock:
            if _head is None:
                _head = load()
    return _head


def reset() -> None:
    """Forget the loaded head (tests, or after retraining in the same process)."""
    global _head
    with _lock:
        _head = None


def judge(text: str) -> Verdict:
    """The learned layer's verdict on one message (the embedding comes from the cache)."""
    from bot.embeddings import encode_one

    return get_head().verdict(text, encode_one(text))


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


def inputs_digest(examples: Sequence[Example]) -> str:
    """SHA-256 over the training examples and this module's code: retrain when it changes."""
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    for e in examples:
        digest.update(f"{e.text}\t{e.level}\t{e.kind}\n".encode())
    return digest.hexdigest()


def _fit(texts: Sequence[str], vectors: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    chars, words = _vectorisers()
    chars.fit(texts)
    words.fit(texts)
    # lbfgs on a convex problem: the same data gives the same weights (no random state).
    classifier = LogisticRegression(C=C, max_iter=3000)
    classifier.fit(_features(chars, words, texts, vectors), y)
    return chars, words, classifier


def _out_of_fold(texts: np.ndarray, x: np.ndarray, y: np.ndarray, folds: int = 5) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    oof = np.zeros((len(y), len(LEVELS)), dtype=np.float64)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(x, y):
        chars, words, classifier = _fit(texts[train_idx], x[train_idx], y[train_idx])
        oof[test_idx] = classifier.predict_proba(
            _features(chars, words, texts[test_idx], x[test_idx])
        )
    return oof


def _threshold(scores: np.ndarray, negatives: np.ndarray, budget: float) -> float:
    """The lowest threshold that lets at most ``budget`` of the negatives through."""
    neg = np.sort(scores[negatives])[::-1]
    allowed = int(np.floor(budget * len(neg)))
    if allowed >= len(neg):
        return 0.0
    return float(min(0.99, max(0.2, neg[allowed] + 1e-6)))


def choose_thresholds(
    oof: np.ndarray, y: np.ndarray, budget: float = ESCALATION_BUDGET
) -> Dict[str, float]:
    """Thresholds from out-of-fold probabilities: as low as the harmless budgets allow."""
    harmless = y == 0
    t_crisis = _threshold(oof[:, 2] + oof[:, 3], harmless, budget)
    t_emergency = _threshold(oof[:, 3], harmless | (y == 1), budget)
    t_concern = _threshold(1.0 - oof[:, 0], harmless, CONCERN_BUDGET)
    return {"emergency": t_emergency, "crisis": t_crisis, "concern": min(t_concern, t_crisis)}


def figures(levels: Sequence[str], y: np.ndarray) -> Dict[str, float]:
    """The blind-round measures of predicted levels against labels."""
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    pred = np.array([rank[lv] for lv in levels])

    def share(mask, ok):
        return round(float(ok[mask].mean()), 3) if mask.any() else float("nan")

    return {
        "recall_crisis_or_emergency": share(y >= 2, pred >= 2),
        "emergency_rated_emergency": share(y == 3, pred == 3),
        "false_escalation": share(y == 0, pred >= 2),
        "concern_flagged": share(y == 1, pred >= 1),
    }


def train(out_dir: Path = HEAD_DIR, quiet: bool = False) -> Head:
    """Train the head on every training example; choose thresholds out of fold; save."""
    from bot.embeddings import encode

    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    started = time.monotonic()
    examples = load_examples()
    texts = np.array([e.text for e in examples], dtype=object)
    say(f"safety head: {len(examples)} examples; encoding ...")
    x = encode(list(texts)).astype(np.float32)
    y = np.array([LEVELS.index(e.level) for e in examples])
    say(f"safety head: encoded in {time.monotonic() - started:.0f} s; cross-validating ...")
    oof = _out_of_fold(texts, x, y)
    thresholds = choose_thresholds(oof, y)
    chars, words, classifier = _fit(texts, x, y)
    head = Head(
        chars=chars,
        words=words,
        classifier=classifier,
        thresholds=thresholds,
        neighbours=x.astype(np.float16),
        neighbour_texts=list(texts),
        neighbour_levels=[e.level for e in examples],
        neighbour_domains=[e.domain for e in examples],
        meta={},
    )
    head.meta = {
        "examples": len(examples),
        "by_level": {lv: int((y == i).sum()) for i, lv in enumerate(LEVELS)},
        "by_source": dict(Counter(e.source for e in examples)),
        "model": f"logistic regression (C={C}) on TF-IDF char 2-5 + word 1-2 + MiniLM",
        "inputs_sha256": inputs_digest(examples),
        "out_of_fold_model_alone": figures([level_of(p, thresholds) for p in oof], y),
        # For whoever revisits the budget: what other budgets would have chosen.
        "thresholds_by_budget": {
            str(b): choose_thresholds(oof, y, b) for b in (0.01, 0.015, 0.02, 0.03)
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    save(head, out_dir)
    say(
        f"safety head: saved to {out_dir} in {head.meta['seconds']} s; out of fold (model "
        f"alone): {head.meta['out_of_fold_model_alone']}; thresholds {thresholds}"
    )
    return head


def up_to_date(head_dir: Path = HEAD_DIR) -> bool:
    """Whether the saved head was trained on exactly today's examples and code."""
    try:
        meta = json.loads((head_dir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = ("head.pkl", "neighbours.npz", "neighbours.json")
    return meta.get("inputs_sha256") == inputs_digest(load_examples()) and all(
        (head_dir / name).exists() for name in files
    )


def main(argv: Optional[List[str]] = None) -> int:
    """``train [--if-needed] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m bot.safety.learned")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the learned safety layer")
    t.add_argument("--if-needed", action="store_true", help="only if its inputs changed")
    t.add_argument("--out", type=Path, default=HEAD_DIR)
    args = parser.parse_args(argv)
    if args.if_needed and up_to_date(args.out):
        print(f"safety head up to date: {args.out}")
        return 0
    train(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

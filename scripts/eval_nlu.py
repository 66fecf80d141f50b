"""FAQ figures in one table: the NLU hold-out (top-1) and the blind rounds over REST.

    scripts/eval_nlu.py            hold-out, then every blind round in tests/nlu/blind/
    scripts/eval_nlu.py --holdout  the hold-out only (no servers)

Blind rounds are asked over the REST channel of a real Rasa + action server started on
free ports with a throwaway SQLite database (tests/servers.py), each question in its own
conversation; the answers are written to results/faq_blind_roundN.tsv and scored against
the accumulated judgements (bot/faq_blind.py explains why a reader judges).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import faq_blind  # noqa: E402
from bot.nlu_eval import HOLDOUT, run  # noqa: E402

MODEL = ROOT / "models" / "assistant.tar.gz"
RESULTS = ROOT / "results"


def holdout() -> dict:
    """Evaluate the hold-out set, print the misses, write results/nlu_holdout.json."""
    report = run(MODEL, HOLDOUT)
    for text, expected, got in report.misses:
        print(f"  hold-out miss: {text!r}: expected {expected}, got {got}")
    figures = {
        "faq_accuracy": report.faq_accuracy,
        "faq_total": report.faq_total,
        "other_accuracy": report.other_accuracy,
        "misses": report.misses,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "nlu_holdout.json").write_text(json.dumps(figures, indent=2))
    return figures


def blind_rounds() -> list:
    """Ask every blind round over REST; one result dict per round."""
    from tests.servers import running_stack

    rounds = faq_blind.round_files()
    results = []
    # Every question comes from one address: the per-address flood limit is for patients.
    env = {"ADDRESS_RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_PER_MINUTE": "0"}
    with tempfile.TemporaryDirectory() as tmp, running_stack(MODEL, Path(tmp), env=env) as stack:

        def say(sender: str, text: str) -> list:
            return [r.get("text", "") for r in stack.say(sender, text) if r.get("text")]

        for path in rounds:
            asked = faq_blind.ask_round(faq_blind.read_round(path), say, path.stem)
            faq_blind.write_asked(asked, RESULTS / f"faq_blind_{path.stem}.tsv")
            judged = faq_blind.read_judgements(path.with_name(path.stem + ".judged.tsv"))
            score = faq_blind.score(asked, judged)
            results.append({"round": path.stem, "score": score})
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holdout", action="store_true", help="the hold-out set only")
    args = parser.parse_args()
    figures = holdout()
    rows = [("NLU hold-out (top-1 FAQ intent)", figures["faq_accuracy"], figures["faq_total"], "")]
    if not args.holdout:
        for r in blind_rounds():
            s = r["score"]
            note = f"{s.crisis_blocks} with a crisis block"
            if s.unjudged:
                note += f"; {len(s.unjudged)} answers not yet judged (counted wrong)"
            rows.append((f"blind {r['round']} over REST (right facts)", s.share, s.total, note))
            for style, (right, total) in sorted(s.by_style.items()):
                rows.append((f"  {style}", right / total, total, ""))
    print()
    print(f"| {'set':44} | {'figure':>6} | {'n':>4} | notes")
    print(f"|{'-' * 46}|{'-' * 8}|{'-' * 6}|------")
    for name, value, n, note in rows:
        print(f"| {name:44} | {value:6.3f} | {n:4d} | {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Print the FAQ top-1 accuracy of the trained model on the NLU hold-out set."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu_eval import HOLDOUT, run  # noqa: E402


def main() -> int:
    """Evaluate, print the figures and misses, write results/nlu_holdout.json."""
    report = run(ROOT / "models" / "assistant.tar.gz", HOLDOUT)
    print(
        f"FAQ top-1 accuracy: {report.faq_accuracy:.3f} ({report.faq_correct}/{report.faq_total})"
    )
    print(
        f"other intents:      {report.other_accuracy:.3f} "
        f"({report.other_correct}/{report.other_total})"
    )
    for text, expected, got in report.misses:
        print(f"  miss: {text!r}: expected {expected}, got {got}")
    out = ROOT / "results" / "nlu_holdout.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "faq_accuracy": report.faq_accuracy,
                "faq_total": report.faq_total,
                "other_accuracy": report.other_accuracy,
                "misses": report.misses,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time the safety detector: cold first call, then p50/p95/p99 per message.

    python scripts/bench_safety.py [--passes 20] [--out results/safety_bench.json]

The first call loads the spaCy pipeline and compiles the patterns (reported separately as
the cold time). Then every message of the team corpus (tests/safety/corpus.tsv) is
assessed ``--passes`` times (bounded to 1..20); each call is timed on its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bot.safety import assess  # noqa: E402

CORPUS = ROOT / "tests" / "safety" / "corpus.tsv"
MAX_PASSES = 20


def percentile(sorted_values: List[float], q: float) -> float:
    """The q-th percentile (0-100) of already sorted values, nearest-rank method."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def load_messages() -> List[str]:
    """The texts of the team corpus."""
    with open(CORPUS, encoding="utf-8", newline="") as fh:
        return [r["text"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]


def main(argv: List[str] | None = None) -> int:
    """Run the benchmark, print the figures and write them as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passes", type=int, default=MAX_PASSES)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "safety_bench.json")
    args = ap.parse_args(argv)
    passes = max(1, min(MAX_PASSES, args.passes))
    messages = load_messages()

    t0 = time.perf_counter()
    assess(messages[0])
    cold_ms = (time.perf_counter() - t0) * 1000

    times: List[float] = []
    started = time.perf_counter()
    for _ in range(passes):
        for message in messages:
            t = time.perf_counter()
            assess(message)
            times.append((time.perf_counter() - t) * 1000)
    wall = time.perf_counter() - started
    times.sort()
    long_text = ("i feel okay today. " * 6000) + " i want to kill myself"
    t = time.perf_counter()
    long_level = assess(long_text).level.value
    long_ms = (time.perf_counter() - t) * 1000

    result = {
        "messages": len(messages),
        "passes": passes,
        "calls": len(times),
        "cold_first_call_ms": round(cold_ms, 1),
        "p50_ms": round(percentile(times, 50), 3),
        "p95_ms": round(percentile(times, 95), 3),
        "p99_ms": round(percentile(times, 99), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "max_ms": round(times[-1], 3),
        "messages_per_second": round(len(times) / wall, 1),
        "long_message_chars": len(long_text),
        "long_message_ms": round(long_ms, 2),
        "long_message_level": long_level,
    }
    print(f"cold first call (load pipeline + compile patterns): {result['cold_first_call_ms']} ms")
    print(
        f"{result['calls']} calls ({len(messages)} messages x {passes} passes): "
        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
        f"max {result['max_ms']} ms, {result['messages_per_second']} messages/s"
    )
    print(f"one {len(long_text)}-char message: {result['long_message_ms']} ms ({long_level})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time the safety detector: cold first call, then p50/p95/p99 per message.

    python scripts/bench_safety.py [--passes 20] [--out results/safety_bench.json]

The first call loads the spaCy pipeline and compiles the patterns (reported separately as
the cold time). Then every message of the team corpus (tests/safety/corpus.tsv) is
assessed ``--passes`` times (bounded to 1..20); each call is timed on its own.

Then the sentence encoder (bot/embeddings.py, for the screen's learned layer): its load
time, p50/p95 per message with a cold cache (each distinct corpus text encoded once), and
the resident memory (RSS) it adds by loading and encoding. ``--no-encoder`` skips it.
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


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_encoder(messages: List[str]) -> dict:
    """Time the sentence encoder per message (cold cache: distinct texts, each encoded
    once) and measure the RSS that loading it and encoding the corpus add."""
    from bot import embeddings

    tensorflow_before = "tensorflow" in sys.modules
    rss_before = rss_mb()
    t = time.perf_counter()
    embeddings.encode_one("load the encoder (this text is not in the corpus)")
    load_ms = (time.perf_counter() - t) * 1000
    rss_loaded = rss_mb()
    distinct = list(dict.fromkeys(messages))
    times: List[float] = []
    for message in distinct:
        t = time.perf_counter()
        embeddings.encode_one(message)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    rss_after = rss_mb()
    t = time.perf_counter()
    embeddings.encode_one(distinct[0])
    cached_ms = (time.perf_counter() - t) * 1000
    return {
        "encoder_tensorflow_already_imported": tensorflow_before,
        "encoder_load_ms": round(load_ms, 1),
        "encoder_messages": len(distinct),
        "encoder_p50_ms": round(percentile(times, 50), 3),
        "encoder_p95_ms": round(percentile(times, 95), 3),
        "encoder_max_ms": round(times[-1], 3),
        "encoder_cached_call_ms": round(cached_ms, 3),
        "encoder_rss_before_mb": round(rss_before, 1),
        "encoder_rss_loaded_mb": round(rss_loaded, 1),
        "encoder_rss_after_mb": round(rss_after, 1),
        "encoder_rss_added_mb": round(rss_after - rss_before, 1),
    }


def main(argv: List[str] | None = None) -> int:
    """Run the benchmark, print the figures and write them as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passes", type=int, default=MAX_PASSES)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "safety_bench.json")
    ap.add_argument("--no-encoder", action="store_true", help="skip the sentence encoder")
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
    if not args.no_encoder:
        result.update(bench_encoder(messages))
        tf_note = (
            " (tensorflow already imported)"
            if result["encoder_tensorflow_already_imported"]
            else ""
        )
        print(
            f"sentence encoder: load {result['encoder_load_ms']} ms{tf_note}; "
            f"{result['encoder_messages']} distinct messages, cold cache: "
            f"p50 {result['encoder_p50_ms']} ms, p95 {result['encoder_p95_ms']} ms; "
            f"cached {result['encoder_cached_call_ms']} ms"
        )
        print(
            f"sentence encoder RSS: {result['encoder_rss_before_mb']} MB before, "
            f"{result['encoder_rss_loaded_mb']} MB loaded, {result['encoder_rss_after_mb']} MB "
            f"after encoding: +{result['encoder_rss_added_mb']} MB"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

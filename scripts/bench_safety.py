"""Time the safety screen layer by layer: p50/p95 per message, and the encoder's memory.

    python scripts/bench_safety.py [--passes 20] [--out results/safety_bench.json]

On the team corpus (tests/safety/corpus.tsv), in this order:

1. the pattern layer (``bot.safety.detector.assess``): cold first call (spaCy pipeline,
   compiled patterns), then every message ``--passes`` times (1..20), each timed;
2. the sentence encoder (bot/embeddings.py): load time, p50/p95 per message with a cold
   cache (each distinct text once), and the resident memory (RSS) that loading it and
   encoding add;
3. the learned head on those embeddings (``Head.verdict``);
4. the whole screen (``bot.safety.assess``) with the encoder cache emptied before each
   message, as a message the process has never seen: the figure against the target
   (p95 <= 15 ms on 2 cores, encoder <= 150 MB).

``--no-encoder`` runs only step 1.
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


def bench_patterns(messages: List[str], passes: int) -> dict:
    """The pattern layer alone: cold first call, then each message ``passes`` times."""
    from bot.safety.detector import assess as patterns

    t0 = time.perf_counter()
    patterns(messages[0])
    cold_ms = (time.perf_counter() - t0) * 1000
    times: List[float] = []
    started = time.perf_counter()
    for _ in range(passes):
        for message in messages:
            t = time.perf_counter()
            patterns(message)
            times.append((time.perf_counter() - t) * 1000)
    wall = time.perf_counter() - started
    times.sort()
    return {
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
    }


def bench_head_and_screen(messages: List[str]) -> dict:
    """The head on ready embeddings, then the whole screen with a cold encoder cache."""
    from bot import embeddings
    from bot.safety.conversation import assess_cached
    from bot.safety.learned import get_head

    head = get_head()
    distinct = list(dict.fromkeys(messages))
    vectors = embeddings.encode(distinct)
    head_times: List[float] = []
    for text, vector in zip(distinct, vectors, strict=True):
        t = time.perf_counter()
        head.verdict(text, vector)
        head_times.append((time.perf_counter() - t) * 1000)
    head_times.sort()
    screen_times: List[float] = []
    for text in distinct:
        embeddings.clear_cache()
        assess_cached.cache_clear()
        t = time.perf_counter()
        assess(text)
        screen_times.append((time.perf_counter() - t) * 1000)
    screen_times.sort()
    long_text = ("i feel okay today. " * 6000) + " i want to kill myself"
    embeddings.clear_cache()
    t = time.perf_counter()
    long_level = assess(long_text).level.value
    long_ms = (time.perf_counter() - t) * 1000
    return {
        "head_p50_ms": round(percentile(head_times, 50), 3),
        "head_p95_ms": round(percentile(head_times, 95), 3),
        "screen_messages": len(distinct),
        "screen_p50_ms": round(percentile(screen_times, 50), 3),
        "screen_p95_ms": round(percentile(screen_times, 95), 3),
        "screen_p99_ms": round(percentile(screen_times, 99), 3),
        "screen_max_ms": round(screen_times[-1], 3),
        "long_message_chars": len(long_text),
        "long_message_ms": round(long_ms, 2),
        "long_message_level": long_level,
    }


def main(argv: List[str] | None = None) -> int:
    """Run the benchmark, print the figures and write them as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passes", type=int, default=MAX_PASSES)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "safety_bench.json")
    ap.add_argument("--no-encoder", action="store_true", help="only the pattern layer")
    args = ap.parse_args(argv)
    passes = max(1, min(MAX_PASSES, args.passes))
    messages = load_messages()
    result = {"cpus": os.cpu_count(), "patterns": bench_patterns(messages, passes)}
    r = result["patterns"]
    print(f"patterns: cold first call {r['cold_first_call_ms']} ms; {r['calls']} calls: "
          f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms")  # fmt: skip
    if not args.no_encoder:
        result["encoder"] = bench_encoder(messages)
        e = result["encoder"]
        print(
            f"encoder: load {e['encoder_load_ms']} ms (tensorflow imported before: "
            f"{e['encoder_tensorflow_already_imported']}); {e['encoder_messages']} distinct "
            f"messages, cold cache: p50 {e['encoder_p50_ms']} ms, p95 {e['encoder_p95_ms']} "
            f"ms; RSS {e['encoder_rss_before_mb']} -> {e['encoder_rss_after_mb']} MB "
            f"(+{e['encoder_rss_added_mb']} MB)"
        )
        result["screen"] = bench_head_and_screen(messages)
        w = result["screen"]
        print(f"head: p50 {w['head_p50_ms']} ms, p95 {w['head_p95_ms']} ms")
        print(
            f"whole screen, cold encoder cache ({w['screen_messages']} messages): p50 "
            f"{w['screen_p50_ms']} ms, p95 {w['screen_p95_ms']} ms, p99 {w['screen_p99_ms']} "
            f"ms; one {w['long_message_chars']}-char message {w['long_message_ms']} ms "
            f"({w['long_message_level']})"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

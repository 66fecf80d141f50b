"""The benchmark's load-generator helpers (scripts/loadgen.py): percentiles and summaries.

Fast and without servers; the benchmark itself (`make bench`) asserts nothing about speed.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter

import pytest

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("bench_loadgen", ROOT / "scripts" / "loadgen.py")
loadgen = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = loadgen  # dataclasses look their module up there
_spec.loader.exec_module(loadgen)


def test_percentile_nearest_rank():
    values = list(range(1, 101))  # 1..100
    assert loadgen.percentile(values, 50) == 50
    assert loadgen.percentile(values, 95) == 95
    assert loadgen.percentile(values, 99) == 99
    assert loadgen.percentile(values, 100) == 100
    assert loadgen.percentile(values, 0) == 1


def test_percentile_small_samples():
    assert loadgen.percentile([7.0], 50) == 7.0
    assert loadgen.percentile([7.0], 99) == 7.0
    # Nearest rank: p50 of four values is the 2nd, p95 and p99 the 4th (the maximum).
    four = [1.0, 2.0, 3.0, 4.0]
    assert loadgen.percentile(four, 50) == 2.0
    assert loadgen.percentile(four, 75) == 3.0
    assert loadgen.percentile(four, 95) == 4.0
    assert loadgen.percentile(four, 99) == 4.0


def test_percentile_empty_and_out_of_range():
    assert loadgen.percentile([], 50) == 0.0
    with pytest.raises(ValueError):
        loadgen.percentile([1.0], 101)
    with pytest.raises(ValueError):
        loadgen.percentile([1.0], -1)


def test_summarize_latency_throughput_and_errors():
    # 20 answers of 10..200 ms over 2 s, plus 3 errors of two kinds.
    latencies = [i / 100 for i in range(1, 21)]
    summary = loadgen.summarize(latencies[::-1], 2.0, Counter(timeout=2, http_500=1), 8, 23)
    assert summary["answered"] == 20
    assert summary["requested"] == 23
    assert summary["errors"] == 3
    assert summary["errors_by_kind"] == {"http_500": 1, "timeout": 2}
    assert summary["throughput_per_s"] == 10.0  # answered only, per second of wall time
    assert summary["p50_ms"] == 100.0  # input order does not matter
    assert summary["p95_ms"] == 190.0
    assert summary["p99_ms"] == 200.0
    assert summary["max_ms"] == 200.0
    assert summary["mean_ms"] == 105.0
    assert summary["concurrency"] == 8


def test_summarize_nothing_answered():
    summary = loadgen.summarize([], 0.0, {"ClientConnectorError": 5}, 1, 5)
    assert summary["answered"] == 0
    assert summary["errors"] == 5
    assert summary["throughput_per_s"] == 0.0
    assert summary["p99_ms"] == 0.0


def test_level_result_counts_answers_and_errors():
    result = loadgen.LevelResult(concurrency=2, requested=4, wall_s=1.0)
    result.latencies_s += [0.1, 0.3]
    result.errors["no_reply"] += 1
    result.errors["timeout"] += 1
    result.conversations = 2
    assert result.answered == 2
    assert result.error_count == 2
    summary = result.summary()
    assert summary["throughput_per_s"] == 2.0
    assert summary["conversations"] == 2
    assert summary["p50_ms"] == 100.0


async def test_run_level_rejects_unbounded_or_empty_input():
    with pytest.raises(ValueError):
        await loadgen.run_level("http://127.0.0.1:9/", 0, 10, ["hi"])
    with pytest.raises(ValueError):
        await loadgen.run_level("http://127.0.0.1:9/", 1, 10, [])

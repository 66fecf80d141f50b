"""A bounded, self-stopping load generator for Rasa's REST channel (asyncio + aiohttp).

    result = asyncio.run(run_level(url, concurrency=8, total=200, sequence=[...]))

Each of ``concurrency`` workers is its own conversation: it sends the bot's fixed message
sequence in order, one message at a time (the next only after the answer), and starts a
new conversation (a new sender id) after each pass, so every conversation has the same
length whatever the request count. Exactly ``total`` requests are sent per level (fewer
only if ``deadline`` seconds pass first); each request has its own timeout, so a level
always stops within ``deadline + timeout`` seconds.

A request counts as answered when the server returns 200 and a non-empty JSON list of
replies; anything else (timeout, connection error, other status, no reply) is an error,
counted by kind. Latency percentiles are over answered requests; throughput is answered
requests per second of the level's wall time.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of already sorted values, nearest-rank method.

    The smallest value with at least q% of the values at or below it; 0.0 when empty.
    """
    if not sorted_values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LevelResult:
    """What one concurrency level measured."""

    concurrency: int
    requested: int
    wall_s: float = 0.0
    latencies_s: List[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    conversations: int = 0

    @property
    def answered(self) -> int:
        """Requests that got a 200 with at least one reply."""
        return len(self.latencies_s)

    @property
    def error_count(self) -> int:
        """Requests that did not get an answer, of any kind."""
        return sum(self.errors.values())

    def summary(self) -> Dict[str, object]:
        """JSON-serialisable figures: latency in ms, throughput in answered messages/s."""
        return summarize(
            self.latencies_s, self.wall_s, self.errors, self.concurrency, self.requested
        ) | {"conversations": self.conversations}


def summarize(
    latencies_s: Sequence[float],
    wall_s: float,
    errors: Dict[str, int],
    concurrency: int,
    requested: int,
) -> Dict[str, object]:
    """Latency p50/p95/p99/mean/max (ms), throughput (answered/s) and the errors."""
    values = sorted(latencies_s)
    ms = [v * 1000 for v in values]
    return {
        "concurrency": concurrency,
        "requested": requested,
        "answered": len(values),
        "errors": int(sum(errors.values())),
        "errors_by_kind": dict(sorted(errors.items())),
        "wall_s": round(wall_s, 3),
        "throughput_per_s": round(len(values) / wall_s, 2) if wall_s > 0 else 0.0,
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else 0.0,
        "max_ms": round(ms[-1], 1) if ms else 0.0,
    }


async def run_level(
    url: str,
    concurrency: int,
    total: int,
    sequence: Sequence[str],
    timeout: float = 30.0,
    deadline: float = 300.0,
    sender_prefix: str = "bench",
) -> LevelResult:
    """Send ``total`` messages from ``concurrency`` conversations at once; see the module doc."""
    import aiohttp

    if concurrency < 1 or total < 0 or not sequence:
        raise ValueError("need concurrency >= 1, total >= 0 and a non-empty sequence")
    result = LevelResult(concurrency=concurrency, requested=total)
    issued = 0
    tag = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    stop_at = started + deadline

    async def worker(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal issued
        position = 0
        sender = ""
        while issued < total and time.perf_counter() < stop_at:
            issued += 1
            if position % len(sequence) == 0:
                sender = (
                    f"{sender_prefix}-{tag}-c{concurrency}-w{index}-{position // len(sequence)}"
                )
                result.conversations += 1
            text = sequence[position % len(sequence)]
            position += 1
            t0 = time.perf_counter()
            kind: Optional[str] = None
            try:
                async with session.post(url, json={"sender": sender, "message": text}) as resp:
                    body = await resp.json(content_type=None) if resp.status == 200 else None
                    if resp.status != 200:
                        kind = f"http_{resp.status}"
                    elif not isinstance(body, list) or not body:
                        kind = "no_reply"
            except asyncio.TimeoutError:
                kind = "timeout"
            except aiohttp.ClientError as exc:
                kind = type(exc).__name__
            except ValueError:
                kind = "bad_json"
            if kind is None:
                result.latencies_s.append(time.perf_counter() - t0)
            else:
                result.errors[kind] += 1

    client_timeout = aiohttp.ClientTimeout(total=timeout)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=client_timeout, connector=connector) as session:
        tasks = [asyncio.create_task(worker(session, i)) for i in range(concurrency)]
        # Belt and braces: every request is bounded by its timeout already.
        done, pending = await asyncio.wait(tasks, timeout=deadline + timeout + 5)
        for task in pending:
            task.cancel()
            result.errors["cancelled"] += 1
        for task in done:
            if task.exception() is not None:
                result.errors[type(task.exception()).__name__] += 1
    result.wall_s = time.perf_counter() - started
    return result

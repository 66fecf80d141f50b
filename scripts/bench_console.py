"""Time the staff console's transcript search on many synthetic conversations.

    python scripts/bench_console.py [--conversations 10000] [--repeat 20]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--out results/bench_console.json]

A benchmark, not a test. It builds a temporary SQLite database (and, with ``--postgres``
and an admin URL, a fresh PostgreSQL database ``bench_console_<random>``, dropped after)
holding Rasa-style ``events`` rows for N synthetic conversations of 8-16 events each
(channels rest/socketio/twilio, dates spread over 90 days, ~3% crisis or emergency,
handoffs recorded through bot.handoff, some conversations flagged), then times:

* the full index build (``refresh_index`` from an empty index),
* a refresh with nothing new (every search request runs one),
* an incremental refresh after 50 new events (old and new conversations),
* p50/p95/max of ``search_conversations`` for typical searches, ``--repeat`` times each,
* ``search_csv`` of a crisis filter.

The figures are printed as a table and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import sqlalchemy as sa  # noqa: E402

from bot.handoff import claim_handoff, record_handoff, resolve_handoff  # noqa: E402
from bot.staff import transcripts  # noqa: E402
from bot.staff.transcripts import Search, refresh_index, search_conversations, search_csv  # noqa: E402
from bot.storage import db as storage_db  # noqa: E402
from bot.storage.db import get_engine  # noqa: E402

DAY = 86_400.0
SPAN_DAYS = 90
CHANNELS = ("rest", "socketio", "twilio")
CHANNEL_WEIGHTS = (0.45, 0.35, 0.20)

# (intent, user texts, bot utter action, bot text)
TURNS = [
    (
        "faq",
        ["what is klonopin", "is clonazepam a benzo", "what does clonazepam do to the brain"],
        "utter_faq/what_is_clonazepam",
        "Clonazepam is a prescription medicine in the benzodiazepine family.",
    ),
    (
        "taper_question",
        ["how do i taper off clonazepam", "can i cut my dose in half", "taper plan please"],
        "utter_faq/how_to_taper",
        "Getting off clonazepam is done with a slow taper your prescriber plans.",
    ),
    (
        "withdrawal_symptoms",
        ["my withdrawal is getting worse", "shaking and headaches since i cut down"],
        "utter_faq/withdrawal_symptoms",
        "Withdrawal can affect body and mind: headaches, shaking, poor sleep.",
    ),
    (
        "sleep_problems",
        ["i cannot sleep at night", "insomnia is killing my mood", "no sleep for days"],
        "utter_faq/sleep",
        "Trouble sleeping is common while tapering; tell your prescriber.",
    ),
    (
        "mood_low",
        ["i feel really low today", "everything feels grey and heavy", "depressed again"],
        "utter_mood_support",
        "I'm sorry it feels heavy today. Would talking to our staff help?",
    ),
    (
        "ask_clinic_hours",
        ["when are you open", "what are the clinic hours", "can i call tomorrow"],
        "utter_clinic_hours",
        "The clinic is open Monday to Friday, 9:00 to 17:00.",
    ),
    ("greet", ["hi", "hello there", "good morning"], "utter_greet", "Hi! How can I help today?"),
    ("affirm", ["yes", "yes please", "ok"], "utter_anything_else", "Anything else?"),
    ("deny", ["no", "not really", "nope"], "utter_anything_else", "Anything else?"),
    ("goodbye", ["bye", "thanks, bye"], "utter_goodbye", "Take care. We're here any time."),
]
CRISIS_TEXTS = {
    "crisis": ("i want to kill myself", "suicidal_ideation", "kill_self", "kill myself"),
    "emergency": (
        "i took all my pills just now",
        "overdose",
        "took_all_pills",
        "took all my pills",
    ),
}
CONCERN_TEXT = ("i feel hopeless about all of this", "hopelessness", "hopeless", "hopeless")


# ---------------------------------------------------------------------------------------
# Synthetic events
# ---------------------------------------------------------------------------------------
def events_table(metadata: sa.MetaData) -> sa.Table:
    """The tracker store's ``events`` table, column for column (Rasa creates it in production)."""
    return sa.Table(
        "events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.String(255), nullable=False, index=True),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String(255)),
        sa.Column("action_name", sa.String(255)),
        sa.Column("data", sa.Text),
    )


def _row(sender: str, data: dict) -> dict:
    kind = data["event"]
    intent = None
    if kind == "user":
        intent = data["parse_data"]["intent"]["name"]
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": data["timestamp"],
        "intent_name": intent,
        "action_name": data.get("name") if kind == "action" else None,
        "data": json.dumps(data),
    }


def _safety(level: str, spec: Optional[tuple]) -> dict:
    if spec is None:
        return {"level": "none", "categories": [], "evidence": []}
    _, category, pattern, text = spec
    evidence = [{"pattern": pattern, "category": category, "level": level, "text": text}]
    return {"level": level, "categories": [category], "evidence": evidence}


class Conversation:
    """What the generator decided about one synthetic conversation."""

    __slots__ = ("sender", "channel", "level", "handoff", "last_ts")

    def __init__(self, sender: str, channel: str, level: str, handoff: bool, last_ts: float):
        self.sender, self.channel, self.level = sender, channel, level
        self.handoff, self.last_ts = handoff, last_ts


def _sender(rng: random.Random, channel: str) -> str:
    if channel == "twilio":
        return "+1555" + "".join(rng.choice("0123456789") for _ in range(7))
    return f"{rng.getrandbits(128):032x}"


def conversation_events(
    rng: random.Random, sender: str, channel: str, level: str, start: float, handoff: bool
) -> Tuple[List[dict], float]:
    """8-16 tracker events of one conversation starting at ``start``; returns (rows, last ts)."""
    target = rng.randint(8, 16)
    ts = start
    out: List[dict] = []

    def add(data: dict) -> None:
        nonlocal ts
        ts += rng.uniform(1.0, 45.0)
        data["timestamp"] = round(ts, 3)
        out.append(_row(sender, data))

    add({"event": "action", "name": "action_session_start", "policy": None, "confidence": 1.0})
    add({"event": "session_started"})
    add({"event": "action", "name": "action_listen", "policy": None, "confidence": None})
    alarm_turn = rng.randint(0, 1) if level != "none" else -1
    turn = 0
    while len(out) < target:
        if turn == alarm_turn:
            spec = CRISIS_TEXTS.get(level, CONCERN_TEXT)
            intent, text, utter = "safety_" + level, spec[0], "utter_crisis_resources"
            bot_text = "You matter. Please reach the crisis line now; staff have been told."
        else:
            intent, texts, utter, bot_text = rng.choice(TURNS)
            text = rng.choice(texts)
            spec = None
        user_level = level if turn == alarm_turn else "none"
        add(
            {
                "event": "user",
                "text": text,
                "input_channel": channel,
                "message_id": f"{rng.getrandbits(64):016x}",
                "parse_data": {
                    "intent": {"name": intent, "confidence": round(rng.uniform(0.4, 0.99), 3)},
                    "entities": [],
                    "text": text,
                    "safety": _safety(user_level, spec),
                },
            }
        )
        add({"event": "action", "name": utter, "policy": "RulePolicy", "confidence": 1.0})
        add({"event": "bot", "text": bot_text, "metadata": {"utter_action": utter}})
        if turn == alarm_turn and handoff:
            add({"event": "slot", "name": "handoff_open", "value": True})
            add({"event": "pause"})
            add(
                {
                    "event": "bot",
                    "text": "Hi, this is Kim from the clinic. I'm here with you.",
                    "metadata": {"utter_action": "utter_staff_reply"},
                }
            )
            add({"event": "resume"})
        add({"event": "action", "name": "action_listen", "policy": None, "confidence": None})
        turn += 1
    return out, ts


def generate(n: int, rng: random.Random, now: float) -> Tuple[List[dict], List[Conversation]]:
    """Rows for ``n`` conversations over the last 90 days (the database numbers them)."""
    convs: List[Conversation] = []
    rows: List[dict] = []
    seen: set = set()
    for _ in range(n):
        channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        roll = rng.random()
        if roll < 0.01:
            level = "emergency"
        elif roll < 0.03:
            level = "crisis"
        elif roll < 0.10:
            level = "concern"
        else:
            level = "none"
        start = now - rng.uniform(0.02, SPAN_DAYS) * DAY
        sender = _sender(rng, channel)
        while sender in seen:
            sender = _sender(rng, channel)
        seen.add(sender)
        handoff = level in ("crisis", "emergency") or (level == "concern" and rng.random() < 0.3)
        conv_rows, last = conversation_events(rng, sender, channel, level, start, handoff)
        rows.extend(conv_rows)
        convs.append(Conversation(sender, channel, level, handoff, last))
    # Insert in time order, like a real tracker store (ids grow with time).
    rows.sort(key=lambda r: r["timestamp"])
    return rows, convs


def insert_events(engine: sa.engine.Engine, table: sa.Table, rows: List[dict]) -> None:
    """Bulk insert (one executemany per 5,000 rows)."""
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(table.insert(), rows[start : start + 5000])


def add_staff_state(convs: List[Conversation], rng: random.Random, url: str) -> Dict[str, int]:
    """Handoffs (open / claimed / resolved) for alarming conversations; flags on some."""
    counts = {"handoffs": 0, "open": 0, "claimed": 0, "resolved": 0, "flagged": 0}
    for conv in convs:
        if conv.handoff:
            spec = CRISIS_TEXTS.get(conv.level, CONCERN_TEXT)
            row, _ = record_handoff(
                conv.sender,
                conv.level,
                [spec[1]],
                [_safety(conv.level, spec)["evidence"][0]],
                spec[0],
                channel=conv.channel,
                url=url,
            )
            counts["handoffs"] += 1
            fate = rng.random()
            if fate < 0.25:
                counts["open"] += 1
            else:
                claim_handoff(row["id"], "nurse.kim", url=url)
                if fate < 0.5:
                    counts["claimed"] += 1
                else:
                    resolve_handoff(row["id"], "nurse.kim", "called back, safe", url=url)
                    counts["resolved"] += 1
        if (conv.level in ("crisis", "emergency") and rng.random() < 0.5) or rng.random() < 0.02:
            transcripts.set_flag(conv.sender, True, "nurse.kim", url=url)
            counts["flagged"] += 1
    return counts


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------
def percentile(sorted_values: List[float], q: float) -> float:
    """The q-th percentile (0-100) of already sorted values, nearest-rank method."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def timed(fn: Callable, *args, **kwargs) -> Tuple[float, object]:
    """(milliseconds, result) of one call."""
    t = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - t) * 1000, result


def stats(times: List[float]) -> dict:
    """p50/p95/max/mean in milliseconds."""
    times = sorted(times)
    return {
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(times[-1], 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


def searches(today: date) -> List[Tuple[str, Search]]:
    """The typical searches staff run (what the console's form produces)."""
    month_ago = today - timedelta(days=30)
    return [
        ("no filter, page 1", Search()),
        ("no filter, page 200", Search(page=200)),
        ("text: one word", Search(text="taper")),
        ("text: two words", Search(text="withdrawal shaking")),
        ("text: no match", Search(text="zzqxj")),
        ("level >= crisis", Search(min_level="crisis")),
        ("twilio + last 30 days", Search(channel="twilio", date_from=month_ago, date_to=today)),
        ("flagged", Search(flagged="flagged")),
        ("unflagged", Search(flagged="unflagged")),
        ("handoff open", Search(handoff="open")),
        ("handoff none", Search(handoff="none")),
        ("intent", Search(intent="sleep_problems")),
        (
            "combination",
            Search(
                min_level="concern",
                channel="socketio",
                date_from=today - timedelta(days=60),
                date_to=today,
                handoff="none",
                intent="taper_question",
                text="dose",
            ),
        ),
    ]


def time_searches(today: date, url: str, repeat: int) -> Dict[str, dict]:
    """Each typical search ``repeat`` times (after one warm-up call)."""
    out = {}
    for label, search in searches(today):
        search_conversations(search, url)
        times = []
        total = 0
        for _ in range(repeat):
            ms, result = timed(search_conversations, search, url)
            times.append(ms)
            total = result["total"]
        out[label] = {"total": total, **stats(times)}
    return out


def more_events(
    rng: random.Random, convs: List[Conversation], now: float
) -> Tuple[List[dict], int]:
    """50 new events: 30 in 10 existing conversations, 20 in 5 new ones; (rows, conversations)."""
    rows: List[dict] = []
    touched = 0
    for conv in rng.sample(convs, 10):
        new, _ = conversation_events(rng, conv.sender, conv.channel, "none", now, False)
        rows.extend(new[3:6])  # user, action, bot
        touched += 1
    for _ in range(5):
        channel = rng.choice(CHANNELS)
        new, _ = conversation_events(rng, _sender(rng, channel), channel, "none", now, False)
        rows.extend(new[:4])
        touched += 1
    assert len(rows) == 50
    return rows, touched


def run_backend(name: str, url: str, n: int, repeat: int, seed: int) -> dict:
    """Build the data in the (empty) database at ``url`` and time everything."""
    rng = random.Random(seed)
    now = time.time()
    out: dict = {"backend": name, "conversations": n}

    t = time.perf_counter()
    engine = get_engine(url)  # creates our tables (Alembic)
    metadata = sa.MetaData()
    table = events_table(metadata)
    metadata.create_all(engine)
    out["migrate_s"] = round(time.perf_counter() - t, 2)

    t = time.perf_counter()
    rows, convs = generate(n, rng, now)
    out["generate_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    insert_events(engine, table, rows)
    out["insert_events_s"] = round(time.perf_counter() - t, 2)
    out["events"] = len(rows)
    t = time.perf_counter()
    out["staff_state"] = add_staff_state(convs, rng, url)
    out["staff_state_s"] = round(time.perf_counter() - t, 2)
    out["levels"] = {
        level: sum(1 for c in convs if c.level == level)
        for level in ("none", "concern", "crisis", "emergency")
    }

    ms, changed = timed(refresh_index, url)
    assert changed == n, (changed, n)
    out["index_build"] = {"ms": round(ms, 1), "conversations": changed}
    ms, changed = timed(refresh_index, url)
    assert changed == 0, changed
    out["refresh_nothing_new"] = {"ms": round(ms, 1), "conversations": changed}
    new_rows, touched = more_events(rng, convs, now)
    insert_events(engine, table, new_rows)
    ms, changed = timed(refresh_index, url)
    assert changed == touched, (changed, touched)
    out["refresh_50_new_events"] = {"ms": round(ms, 1), "conversations": changed}

    today = datetime.fromtimestamp(now, tz=timezone.utc).date()
    out["searches"] = time_searches(today, url, repeat)
    if engine.dialect.name == "postgresql":
        # Right after a bulk load the planner has no statistics (autovacuum analyses the
        # tables within a minute or so); time the searches again as they run after that.
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        out["searches_after_analyze"] = time_searches(today, url, repeat)

    csv_times = []
    lines = 0
    for _ in range(max(1, repeat // 4)):
        ms, body = timed(search_csv, Search(min_level="crisis"), url)
        csv_times.append(ms)
        lines = body.count("\n") - 1
    out["csv_crisis"] = {"rows": lines, **stats(csv_times)}
    return out


# ---------------------------------------------------------------------------------------
# Databases, report
# ---------------------------------------------------------------------------------------
def _forget_engine(url: str) -> None:
    engine = storage_db._engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def bench_sqlite(n: int, repeat: int, seed: int) -> dict:
    """The benchmark on a SQLite file in a temporary folder (removed after)."""
    folder = tempfile.mkdtemp(prefix="bench_console_")
    url = f"sqlite:///{Path(folder) / 'bench.db'}"
    try:
        return run_backend("sqlite", url, n, repeat, seed)
    finally:
        _forget_engine(url)
        shutil.rmtree(folder, ignore_errors=True)


def bench_postgres(admin_url: str, n: int, repeat: int, seed: int) -> dict:
    """The benchmark on a fresh PostgreSQL database, dropped after."""
    name = f"bench_console_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        return run_backend("postgresql", url, n, repeat, seed)
    finally:
        _forget_engine(url)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def print_report(result: dict) -> None:
    """A readable table of one backend's figures."""
    print(
        f"\n== {result['backend']}: {result['conversations']} conversations, "
        f"{result['events']} events (levels {result['levels']}) =="
    )
    print(
        f"setup: migrate {result['migrate_s']} s, generate {result['generate_s']} s, "
        f"insert events {result['insert_events_s']} s, handoffs/flags "
        f"{result['staff_state_s']} s {result['staff_state']}"
    )
    for key in ("index_build", "refresh_nothing_new", "refresh_50_new_events"):
        item = result[key]
        print(f"{key:<24} {item['ms']:>10.1f} ms  ({item['conversations']} conversations)")
    tables = [("search", list(result["searches"].items()))]
    if "searches_after_analyze" in result:
        tables.append(("search (after ANALYZE)", list(result["searches_after_analyze"].items())))
    tables[-1][1].append(("csv: level >= crisis", result["csv_crisis"]))
    for title, rows in tables:
        header = f"{title:<26}{'total':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'mean ms':>9}"
        print(header)
        print("-" * len(header))
        for label, s in rows:
            total = s.get("total", s.get("rows"))
            print(
                f"{label:<26}{total:>7}{s['p50_ms']:>9.2f}{s['p95_ms']:>9.2f}"
                f"{s['max_ms']:>9.2f}{s['mean_ms']:>9.2f}"
            )


def main(argv: List[str] | None = None) -> int:
    """Run the benchmark on SQLite (and PostgreSQL), print the figures, write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conversations", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="also run on PostgreSQL: an admin URL such as "
        "postgresql://postgres@127.0.0.1:5432/test (a fresh database is created and dropped)",
    )
    ap.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench_console.json")
    args = ap.parse_args(argv)
    n = max(10, args.conversations)
    repeat = max(1, min(args.repeat, 200))

    started = time.perf_counter()
    report: dict = {
        "conversations": n,
        "repeat": repeat,
        "seed": args.seed,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "backends": {},
    }
    if not args.no_sqlite:
        report["backends"]["sqlite"] = bench_sqlite(n, repeat, args.seed)
        print_report(report["backends"]["sqlite"])
    if args.postgres:
        report["backends"]["postgresql"] = bench_postgres(args.postgres, n, repeat, args.seed)
        print_report(report["backends"]["postgresql"])
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print(f"\nwall time {report['wall_s']} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Handoffs: recording, escalation, ordering, notifiers and the operator CLI."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa

from bot.handoff import list_handoffs, record_handoff, redact
from bot.notify import LogNotifier, WebhookNotifier, notify_all
from bot.storage.db import get_engine
from tests.conftest import ROOT


def test_migrations_create_our_tables(db_url):
    tables = set(sa.inspect(get_engine(db_url)).get_table_names())
    assert {"handoffs", "notifications", "alembic_version"} <= tables


def test_one_open_handoff_per_conversation_escalates_and_never_lowers(db_url):
    first, created = record_handoff("+15550100", "crisis", ["suicidal_ideation"], [{"p": 1}], "a")
    assert created and first["status"] == "open" and first["level"] == "crisis"
    again, created = record_handoff("+15550100", "emergency", ["overdose"], [{"p": 2}], "b")
    assert not created and again["id"] == first["id"]
    assert again["escalated"] and not first["escalated"]
    assert again["level"] == "emergency"
    assert again["categories"] == ["overdose", "suicidal_ideation"]
    assert again["trigger_text"] == "b"
    lower, _ = record_handoff("+15550100", "concern", ["hopelessness"], [], "c")
    assert not lower["escalated"], "a repeat that is not worse is not re-paged"
    assert lower["level"] == "emergency" and lower["trigger_text"] == "b"
    assert len(lower["evidence"]) == 2


def test_queue_is_most_urgent_first_then_oldest(db_url):
    record_handoff("a", "concern", ["hopelessness"], [], "x")
    record_handoff("b", "crisis", ["suicidal_ideation"], [], "x")
    record_handoff("c", "emergency", ["overdose"], [], "x")
    record_handoff("d", "crisis", ["severe_withdrawal"], [], "x")
    assert [h["conversation_id"] for h in list_handoffs()] == ["c", "b", "d", "a"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"level": "none"}, "level"),
        ({"level": "urgent"}, "level"),
        ({"conversation_id": ""}, "conversation id"),
    ],
)
def test_bad_handoff_input_is_refused_and_nothing_stored(db_url, kwargs, message):
    args = {"conversation_id": "x", "level": "crisis", "categories": [], "evidence": []}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        record_handoff(trigger_text="t", **args)
    assert list_handoffs() == []


def test_huge_trigger_text_is_truncated_not_refused(db_url):
    handoff, _ = record_handoff("x", "crisis", [], [], "help " * 100_000)
    assert 0 < len(handoff["trigger_text"]) <= 4000


def test_handoffs_work_on_postgresql(postgres_url):
    conv = f"pg-{uuid.uuid4()}"
    handoff, created = record_handoff(conv, "crisis", ["self_harm"], [], "t", url=postgres_url)
    assert created
    again, created = record_handoff(conv, "emergency", ["overdose"], [], "t", url=postgres_url)
    assert not created and again["level"] == "emergency"
    assert [h["id"] for h in list_handoffs(url=postgres_url)] == [handoff["id"]]


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_notifier_posts_json_and_every_attempt_is_recorded(db_url):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        handoff, _ = record_handoff("+15550111", "emergency", ["overdose"], [], "t")
        good = WebhookNotifier(f"http://127.0.0.1:{server.server_port}/hook")
        bad = WebhookNotifier("http://127.0.0.1:9/unreachable", timeout=1)
        outcomes = notify_all(handoff, [LogNotifier(), good, bad])
    finally:
        server.shutdown()
    assert [o["ok"] for o in outcomes] == [True, True, False]
    assert _Hook.received[-1]["handoff"]["id"] == handoff["id"]
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(sa.text("select notifier, ok from notifications")).fetchall()
    assert sorted((n, bool(ok)) for n, ok in rows) == [
        ("log", True),
        ("webhook", False),
        ("webhook", True),
    ]


def test_logs_never_contain_the_phone_number(db_url, caplog):
    handoff, _ = record_handoff("+15550199", "crisis", ["suicidal_ideation"], [], "t")
    with caplog.at_level(logging.INFO):
        notify_all(handoff, [LogNotifier()])
    assert "+15550199" not in caplog.text
    assert redact("+15550199") in caplog.text


def test_cli_lists_handoffs_as_json(db_url):
    record_handoff("web-7", "crisis", ["suicidal_ideation"], [{"pattern": "x"}], "t", "socketio")
    out = subprocess.run(
        [sys.executable, "-m", "bot", "handoffs", "list", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [row] = json.loads(out)
    assert row["conversation_id"] == "web-7"
    assert row["channel"] == "socketio"
    assert {"level", "categories", "evidence", "status", "created_at"} <= set(row)

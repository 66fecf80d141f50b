"""Handoff alerts leave our systems: they carry no patient data.

A webhook receiver (a pager, a chat bridge) is a third party: it gets the handoff id, the
level, the time and the console's queue link, never the person's words or phone number.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from bot.handoff import record_handoff, redact
from bot.notify import LogNotifier, WebhookNotifier, notifiers_from_env, notify_all

PHONE = "+15550104242"
WORDS = "I took all my pills and I want to die tonight"
EVIDENCE = [
    {"pattern": "overdose_taken", "category": "overdose", "level": "emergency", "text": WORDS},
    {"pattern": "want_to_die", "category": "suicidal_ideation", "text": "want to die"},
]


class _Receiver(BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):  # noqa: N802 (http.server naming)
        _Receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    """A webhook receiver on a free local port; yields its URL."""
    _Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _handoff():
    handoff, _ = record_handoff(
        PHONE, "emergency", ["overdose", "suicidal_ideation"], EVIDENCE, WORDS, "twilio"
    )
    return handoff


def _assert_no_patient_data(text: str) -> None:
    digits = PHONE.lstrip("+")
    for leak in (PHONE, digits, digits[1:], "0104242", WORDS, "pills", "want to die"):
        assert leak not in text
    for key in ("conversation_id", "trigger_text", "evidence", "channel", "categories"):
        assert f'"{key}"' not in text


def test_the_webhook_gets_no_words_and_no_phone_number(db_url, receiver, monkeypatch):
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", receiver)
    monkeypatch.setenv("CONSOLE_PUBLIC_URL", "https://console.example.org/")
    handoff = _handoff()
    outcomes = notify_all(handoff, notifiers_from_env())
    assert [(o["notifier"], o["ok"]) for o in outcomes] == [("log", True), ("webhook", True)]
    (body,) = _Receiver.bodies
    text = body.decode()
    _assert_no_patient_data(text)
    assert redact(PHONE) not in text  # not even the reference: the link is the queue
    assert json.loads(body) == {
        "event": "handoff",
        "handoff": {"id": handoff["id"], "level": "emergency", "at": handoff["updated_at"]},
        "console_url": "https://console.example.org/",
    }


def test_a_watchdog_reminder_says_which_reminder_and_nothing_more(db_url, receiver):
    handoff = _handoff()
    notify_all({**handoff, "reminder": 2}, [WebhookNotifier(receiver)])
    sent = json.loads(_Receiver.bodies[-1])
    assert sent["handoff"] == {
        "id": handoff["id"],
        "level": "emergency",
        "at": handoff["updated_at"],
        "reminder": 2,
    }
    _assert_no_patient_data(_Receiver.bodies[-1].decode())


def test_the_console_link_defaults_to_the_local_queue(db_url, receiver, monkeypatch):
    monkeypatch.delenv("CONSOLE_PUBLIC_URL", raising=False)
    monkeypatch.setenv("CONSOLE_PORT", "5999")
    notify_all(_handoff(), [WebhookNotifier(receiver)])
    assert json.loads(_Receiver.bodies[-1])["console_url"] == "http://localhost:5999/"


def test_the_log_notifier_logs_at_most_the_reference(db_url, caplog):
    handoff = _handoff()
    with caplog.at_level(logging.DEBUG):
        notify_all(handoff, [LogNotifier()])
    _assert_no_patient_data(caplog.text)
    assert redact(PHONE) in caplog.text


def test_a_failing_notifier_logs_no_patient_data(db_url, caplog):
    class Broken:
        name = "broken"

        def notify(self, handoff):
            raise RuntimeError("pager down")

    handoff = _handoff()
    with caplog.at_level(logging.DEBUG):
        outcomes = notify_all(handoff, [Broken()])
    assert outcomes == [{"notifier": "broken", "ok": False, "detail": "RuntimeError: pager down"}]
    _assert_no_patient_data(caplog.text)

"""The console's own background round: the watchdog runs without anyone opening a page."""

from __future__ import annotations

import time
from datetime import timedelta

from bot.handoff import record_handoff, redact
from bot.staff import audit
from bot.storage.db import session_scope
from bot.storage.models import Handoff
from tests.conftest import free_port
from tests.console_support import running_console


def test_console_background_round_renotifies_unclaimed_crisis(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    handoff, _ = record_handoff(
        "+15550109999", "crisis", ["suicidal_ideation"], [], "t", "twilio", url
    )
    concern, _ = record_handoff("calm-one", "concern", ["low_mood"], [], "t", "rest", url)
    with session_scope(url) as session:
        for hid in (handoff["id"], concern["id"]):
            row = session.get(Handoff, hid)
            row.created_at = row.created_at - timedelta(minutes=2)
    dead_rasa = f"http://127.0.0.1:{free_port()}"
    env = {"WATCHDOG_MINUTES": "1", "CONSOLE_WATCHDOG_INTERVAL": "0.5"}
    with running_console(url, dead_rasa, "token", tmp_path, env):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            entries = [e for e in audit.entries(50, "watchdog", url) if e["action"] == "renotify"]
            if entries:
                break
            time.sleep(0.5)
    assert len(entries) == 1, entries
    assert entries[0]["target"] == redact("+15550109999")
    # Rasa is down here: staff are still re-notified, and the entry says the patient was not.
    assert "could not reach the patient" in entries[0]["detail"]
    assert "+1555" not in entries[0]["detail"]
    with session_scope(url) as session:
        assert session.get(Handoff, handoff["id"]).renotify_count == 1
        assert session.get(Handoff, concern["id"]).renotify_count == 0
    assert "+15550109999" not in (tmp_path / "console.log").read_text()

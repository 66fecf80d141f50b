"""Claim, reply, resolve and the watchdog with the real Rasa server and action server.

The patient talks over Rasa's REST channel here (tests/test_console_browser.py does it
over the socket.io channel the widget uses); what they would see is read back from the
tracker through Rasa's HTTP API.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import timedelta

import pytest

from bot.handoff import list_handoffs, record_handoff, redact
from bot.staff import audit
from bot.staff.rasa_client import RasaClient, RasaError, conversation_path
from bot.staff.watchdog import escalate_claimed, send_reminders
from bot.storage.db import session_scope
from bot.storage.models import Handoff, Notification
from tests.conftest import BIN, ROOT, free_port
from tests.console_support import Staff, running_console

pytestmark = [pytest.mark.model, pytest.mark.servers]


def _bot_events(stack, sender):
    return [e for e in stack.tracker(sender)["events"] if e["event"] == "bot"]


def _open_crisis(console, prefix="p"):
    sender = f"{prefix}-{uuid.uuid4().hex[:10]}"
    reply = console.stack.say_text(sender, "i want to kill myself")
    assert "988" in reply
    return sender, redact(sender)


def _actions(db_url, actor, ref):
    return [e["action"] for e in audit.entries(500, actor, db_url) if e["target"] == ref]


def test_claim_reply_resolve_through_rasa(console):
    stack = console.stack
    sender, ref = _open_crisis(console)
    sam = Staff(console.base)
    assert sam.login("sam").ok

    page = sam.page(f"/c/{ref}")
    assert page.status_code == 200 and "Claim and pause the assistant" in page.text

    claimed = sam.submit(f"/c/{ref}/claim")
    assert "Claimed. The assistant is paused." in claimed.text
    tracker = stack.tracker(sender)
    assert tracker["paused"] is True
    assert "Sam (RN)" in _bot_events(stack, sender)[-1]["text"]

    # Paused: the assistant does not answer, but the message is screened and stored.
    assert stack.say(sender, "are you still there? i took all my pills") == []
    items = sam.get(console.base + f"/api/c/{ref}/events?after=0").json()["items"]
    last_user = [i for i in items if i["kind"] == "user"][-1]
    assert last_user["text"].startswith("are you still there")
    assert last_user["safety"]["level"] == "emergency"
    assert "overdose" in last_user["safety"]["categories"]

    sent = sam.submit(f"/c/{ref}/reply", {"text": "I'm Sam, a nurse here. Are you safe?"})
    assert "Sent." in sent.text
    staff_message = _bot_events(stack, sender)[-1]
    assert staff_message["text"] == "Sam (RN) (staff): I'm Sam, a nurse here. Are you safe?"
    assert staff_message["metadata"]["utter_action"] == "utter_staff_reply"
    items = sam.get(console.base + f"/api/c/{ref}/events?after=0").json()["items"]
    assert items[-1]["kind"] == "staff" and "Are you safe?" in items[-1]["text"]

    # While claimed, a message at a higher level raises the handoff (the watchdog round).
    escalate_claimed(console.db_url)
    [handoff] = [h for h in list_handoffs(url=console.db_url) if h["conversation_id"] == sender]
    assert handoff["level"] == "emergency" and handoff["status"] == "claimed"
    assert "escalate" in _actions(console.db_url, "watchdog", ref)

    assert "closing note" in sam.submit(f"/c/{ref}/resolve", {"note": "  "}).text
    resolved = sam.submit(f"/c/{ref}/resolve", {"note": "Spoke by phone; EMS called."})
    assert "Resolved. The assistant answers again." in resolved.text
    assert stack.tracker(sender)["paused"] is False
    assert "handed this conversation back" in _bot_events(stack, sender)[-1]["text"]
    [handoff] = [h for h in list_handoffs(url=console.db_url) if h["conversation_id"] == sender]
    assert handoff["status"] == "resolved"
    assert handoff["resolved_by"] == "Sam (RN)" and handoff["resolved_at"]
    assert handoff["resolution_note"] == "Spoke by phone; EMS called."

    # The assistant answers again, with the rules intact.
    answer = stack.say_text(sender, "what is klonopin?")
    assert "clonazepam" in answer.lower() and "Sources:" in answer

    actions = _actions(console.db_url, "sam", ref)
    for expected in ("view_transcript", "claim", "reply", "resolve"):
        assert expected in actions, actions


def test_only_one_person_can_claim(console):
    sender, ref = _open_crisis(console, "race")
    sam, ada = Staff(console.base), Staff(console.base)
    assert sam.login("sam").ok and ada.login("ada").ok
    sam.page(f"/c/{ref}")
    ada.page(f"/c/{ref}")
    assert "Claimed" in sam.submit(f"/c/{ref}/claim").text
    second = ada.submit(f"/c/{ref}/claim")
    assert "already claimed by Sam (RN)" in second.text
    # Nor can someone else reply in a conversation Sam holds.
    assert (
        "Sam (RN) has claimed this conversation"
        in ada.submit(f"/c/{ref}/reply", {"text": "hello"}).text
    )


def test_reply_needs_a_claim_and_a_sane_length(console):
    sender, ref = _open_crisis(console, "len")
    sam = Staff(console.base)
    assert sam.login("sam").ok
    sam.page(f"/c/{ref}")
    assert (
        "Claim the conversation before replying"
        in sam.submit(f"/c/{ref}/reply", {"text": "hi"}).text
    )
    sam.submit(f"/c/{ref}/claim")
    assert "Write a message first" in sam.submit(f"/c/{ref}/reply", {"text": "   "}).text
    too_long = sam.submit(f"/c/{ref}/reply", {"text": "x" * 1601})
    assert "limited to 1600 characters" in too_long.text
    assert not [e for e in _bot_events(console.stack, sender) if "xxxx" in e["text"]]


def test_queue_most_urgent_first_then_oldest(console):
    tag = uuid.uuid4().hex[:6]
    made = []
    for name, level in [("c1", "concern"), ("k1", "crisis"), ("e1", "emergency"), ("k2", "crisis")]:
        h, _ = record_handoff(f"q-{tag}-{name}", level, ["test"], [], "t", "rest", console.db_url)
        made.append(h["id"])
    sam = Staff(console.base)
    assert sam.login("sam").ok
    items = sam.get(console.base + "/api/queue").json()["items"]
    ours = [i["ref"] for i in items if i["id"] in made]
    expected = [redact(f"q-{tag}-{n}") for n in ("e1", "k1", "k2", "c1")]
    assert ours == expected
    levels = [i["level"] for i in items if i["status"] == "open"]
    order = {"emergency": 0, "crisis": 1, "concern": 2}
    assert levels == sorted(levels, key=order.get)
    assert all("conversation_id" not in i for i in items)  # refs only in the API


def test_watchdog_renotifies_and_resends_resources(console, monkeypatch):
    stack = console.stack
    sender, ref = _open_crisis(console, "dog")
    [handoff] = [h for h in list_handoffs(url=console.db_url) if h["conversation_id"] == sender]
    with session_scope(console.db_url) as session:
        row = session.get(Handoff, handoff["id"])
        row.created_at = row.created_at - timedelta(minutes=6)
    monkeypatch.setenv("WATCHDOG_MINUTES", "5")
    client = RasaClient(stack.base, stack.token)

    done = asyncio.run(send_reminders(client, console.db_url))
    assert [d["handoff"] for d in done if d["handoff"] == handoff["id"]] == [handoff["id"]]
    reminder = _bot_events(stack, sender)[-1]
    assert reminder["metadata"]["utter_action"] == "utter_crisis_reminder"
    assert "988" in reminder["text"] and "alerted our staff again" in reminder["text"]
    assert reminder["text"].index("988") < reminder["text"].index("alerted our staff")
    with session_scope(console.db_url) as session:
        notes = session.query(Notification).filter(Notification.handoff_id == handoff["id"]).all()
        assert len(notes) >= 2  # the first alert and the reminder
        assert session.get(Handoff, handoff["id"]).renotify_count == 1
    assert "renotify" in _actions(console.db_url, "watchdog", ref)

    # Not again until another interval has passed; never for a claimed handoff.
    again = asyncio.run(send_reminders(client, console.db_url))
    assert handoff["id"] not in [d["handoff"] for d in again]
    sam = Staff(console.base)
    assert sam.login("sam").ok
    sam.page(f"/c/{ref}")
    sam.submit(f"/c/{ref}/claim")
    with session_scope(console.db_url) as session:
        row = session.get(Handoff, handoff["id"])
        row.renotified_at = row.renotified_at - timedelta(minutes=10)
    later = asyncio.run(send_reminders(client, console.db_url))
    assert handoff["id"] not in [d["handoff"] for d in later]


def test_concern_handoffs_are_not_chased_by_the_watchdog(console, monkeypatch):
    sender = "quiet-" + uuid.uuid4().hex[:8]
    h, _ = record_handoff(sender, "concern", ["low_mood"], [], "t", "rest", console.db_url)
    with session_scope(console.db_url) as session:
        row = session.get(Handoff, h["id"])
        row.created_at = row.created_at - timedelta(hours=2)
    monkeypatch.setenv("WATCHDOG_MINUTES", "5")
    done = asyncio.run(send_reminders(None, console.db_url))
    assert h["id"] not in [d["handoff"] for d in done]


def test_claim_is_refused_when_rasa_cannot_pause(console, tmp_path):
    """No pause, no claim: staff and the assistant must never answer at once."""
    sender, ref = _open_crisis(console, "down")
    dead = f"http://127.0.0.1:{free_port()}"
    with running_console(console.db_url, dead, "t", tmp_path, {"WATCHDOG_MINUTES": "1440"}) as b:
        sam = Staff(b)
        assert sam.login("sam").ok
        sam.page(f"/c/{ref}")
        response = sam.submit(f"/c/{ref}/claim")
        assert "Could not pause the assistant, not claimed" in response.text
    [handoff] = [h for h in list_handoffs(url=console.db_url) if h["conversation_id"] == sender]
    assert handoff["status"] == "open" and handoff["claimed_by"] is None
    assert console.stack.tracker(sender)["paused"] is False


def test_conversation_ids_rasa_cannot_address_are_refused_clearly():
    assert conversation_path("+15550100123") == "+15550100123"
    assert conversation_path("whatsapp:+15550100123") == "whatsapp:+15550100123"
    for bad in ("a b", "x?y", "x#y", "50%", "café", ""):
        with pytest.raises(RasaError):
            conversation_path(bad)


def _sms_crisis(stack, phone: str, text: str) -> None:
    """An SMS conversation's crisis, through Rasa's HTTP API (the REST channel may not use
    a phone number: that is the SMS channel's id). The message is stored as if it came
    from Twilio, then the crisis runs through the action server as it would."""
    import json
    import urllib.request

    def post(path, body):
        req = urllib.request.Request(
            f"{stack.base}/conversations/{phone}/{path}?token={stack.token}",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            assert r.status == 200

    parse = {"text": text, "intent": {"name": "safety_crisis", "confidence": 1.0}, "entities": []}
    post("tracker/events", [{"event": "user", "text": text, "input_channel": "twilio",
                             "parse_data": parse}])  # fmt: skip
    post("trigger_intent", {"name": "safety_crisis"})


def test_phone_numbers_never_reach_the_logs(console):
    phone = "+1555010" + str(uuid.uuid4().int)[:4]
    _sms_crisis(console.stack, phone, "i want to end my life")
    ref = redact(phone)
    sam = Staff(console.base)
    assert sam.login("sam").ok
    sam.page(f"/c/{ref}")
    sam.submit(f"/c/{ref}/claim")
    sam.submit(f"/c/{ref}/reply", {"text": "hello from the clinic"})
    sam.submit(f"/c/{ref}/resolve", {"note": "ok"})
    sam.get(console.base + "/transcripts.csv?q=" + phone[1:])
    assert phone in sam.page(f"/c/{ref}").text  # shown to staff
    workdir = console.stack.db_path.parent
    logs = console.log.read_text() + (workdir / "actions.log").read_text()
    assert phone not in logs and phone[1:] not in logs
    assert not [e for e in audit.entries(2000, url=console.db_url) if phone[1:] in str(e)]


def test_watchdog_and_retention_commands(console, tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "RASA_URL": console.stack.base,
        "RASA_TOKEN": console.stack.token,
        "PATH": str(BIN),
    }
    run = subprocess.run(
        [str(BIN / "python"), "-m", "bot", "staff", "watchdog"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "sent 0 reminders" in run.stdout
    run = subprocess.run(
        [str(BIN / "python"), "-m", "bot", "staff", "retention", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and "retention is not set" in run.stdout

"""The action server is not open (issue 12, High 3).

It once listened on 0.0.0.0:5055 without authentication and took ``text/plain`` bodies (a
cross-site "simple" request), so anyone could post a forged tracker and raise emergency
handoffs with any level, channel and evidence. Now (``python -m bot actions``,
bot/deploy/serve.py) it listens on loopback, wants the token the Rasa server sends
(endpoints.yml ``X-Action-Token``) and a JSON body; operators can resolve any handoff,
malformed ones too, from the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

from bot.deploy.serve import ACTION_TOKEN_HEADER
from bot.handoff import get_handoff, list_handoffs, record_handoff
from bot.settings import action_server_token, clinic_config
from tests.conftest import BIN, ROOT

pytestmark = [pytest.mark.model, pytest.mark.servers]


def _forged_call(sender: str) -> dict:
    """What an attacker posted: a tracker whose latest message carries an emergency."""
    assessment = {
        "level": "emergency",
        "categories": ["overdose"],
        "evidence": [{"category": "overdose", "text": "anything the attacker likes"}],
    }
    return {
        "next_action": "action_staff_handoff",
        "sender_id": sender,
        "version": "3.6.2",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {"risk_level": "emergency"},
            "latest_message": {"text": "forged", "intent": {}, "safety": assessment},
            "events": [],
            "latest_input_channel": "twilio",
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def _post(port: int, body: bytes, content_type: str, token: str | None) -> int:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers[ACTION_TOKEN_HEADER] = token
    req = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", body, headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _handoffs_of(db_url: str, sender: str) -> list:
    return [h for h in list_handoffs(url=db_url) if h["conversation_id"] == sender]


def test_forged_trackers_without_the_token_raise_nothing(stack):
    sender = f"forged-{uuid.uuid4().hex[:8]}"
    body = json.dumps(_forged_call(sender)).encode()
    assert _post(stack.actions_port, body, "application/json", None) == 401
    assert _post(stack.actions_port, body, "application/json", "guessed-token") == 401
    # The cross-site form of the attack: a text/plain "simple request" (no preflight).
    assert _post(stack.actions_port, body, "text/plain", None) == 401
    assert _post(stack.actions_port, body, "text/plain", action_server_token()) == 415
    assert _handoffs_of(stack.db_url, sender) == []


def test_the_rasa_server_still_reaches_its_action_server(stack):
    """The same token travels from endpoints.yml: a crisis still opens a handoff."""
    sender = f"pt-{uuid.uuid4().hex[:8]}"
    answer = stack.say_text(sender, "i want to kill myself")
    assert "988" in answer
    # The Rasa server's own fallback (action server unreachable) says this; the action
    # server's handoff message does not.
    assert "couldn't reach our staff automatically" not in answer
    assert clinic_config().clinic.phone in stack.say_text(sender, "can i talk to someone")
    [handoff] = _handoffs_of(stack.db_url, sender)
    assert handoff["level"] in ("crisis", "emergency")


def _listening_addresses(port: int) -> set:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                found.add(address)
    return found


def test_the_action_server_listens_on_loopback_only(stack):
    addresses = _listening_addresses(stack.actions_port)
    assert addresses, "the action server is listening"
    assert addresses <= {"0100007F"}, f"only 127.0.0.1, not {addresses}"


def test_operators_can_resolve_a_malformed_handoff(stack):
    """A handoff whose conversation id the console cannot address (one forged before the
    token, or older than the id rules) is closed from the command line."""
    bad_id = f"pt-atk/../victim-{uuid.uuid4().hex[:6]}"
    handoff, _ = record_handoff(bad_id, "emergency", ["overdose"], [], "x", url=stack.db_url)
    run = subprocess.run(
        [str(BIN / "python"), "-m", "bot", "handoffs", "resolve", str(handoff["id"]),
         "--note", "forged before the action server needed a token", "--by", "ops"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": stack.db_url},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    done = get_handoff(handoff["id"], url=stack.db_url)
    assert done["status"] == "resolved" and done["resolved_by"] == "ops"

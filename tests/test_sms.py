"""The Twilio SMS channel (bot/channels/twilio_sms.py) with the real Rasa and action servers.

The official ``twilio`` library is used on both sides: its RequestValidator signs the test
webhooks the way Twilio does, and the channel's REST client sends the replies to a fake
Twilio API running here on loopback (``TWILIO_API_URL``), which records what it received
and can fail on demand.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Optional

import pytest
import requests
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from bot import sms
from bot.channels import conversation_ids
from bot.handoff import list_handoffs, redact
from tests.conftest import BIN, ROOT

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = uuid.uuid4().hex
OUR_NUMBER = "+15550100999"
PUBLIC_URL = "https://sms.clinic.example"
WEBHOOK_PATH = "/webhooks/twilio/webhook"
USED_NUMBERS: List[str] = []
OTHER_LOGS: List[Path] = []  # the staff console's log


class FakeTwilio:
    """``POST /2010-04-01/Accounts/{sid}/Messages.json`` like Twilio's REST API."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        """Listen on a free loopback port (call start())."""
        self.account_sid = account_sid
        self.auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.received: List[dict] = []
        self.failures: Dict[str, list] = {}  # To -> [times left, HTTP status]
        self.calls: Dict[str, int] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def fail(self, to: str, times: int, status: int = 500) -> None:
        """Answer the next ``times`` messages to ``to`` with ``status``."""
        with self.lock:
            self.failures[to] = [times, status]

    def to(self, number: str) -> List[str]:
        """Bodies of the messages accepted for ``number``, in order."""
        with self.lock:
            return [m["Body"] for m in self.received if m.get("To") == number]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {
                    k: v[0]
                    for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()
                }
                if self.path != f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                    return self._json(404, {"code": 20404, "message": "not found", "status": 404})
                if self.headers.get("Authorization") != fake.auth:
                    return self._json(
                        401, {"code": 20003, "message": "Authenticate", "status": 401}
                    )
                to = form.get("To", "")
                with fake.lock:
                    fake.calls[to] = fake.calls.get(to, 0) + 1
                    failure = fake.failures.get(to)
                    if failure and failure[0] > 0:
                        failure[0] -= 1
                        status = failure[1]
                    else:
                        status = 201
                        fake.received.append(form)
                if status != 201:
                    # Like Twilio's errors, which may name the number.
                    message = f"Cannot send to {to} right now"
                    return self._json(status, {"code": 30000 + status, "message": message})
                now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
                sid = "SM" + uuid.uuid4().hex
                return self._json(
                    201,
                    {
                        "sid": sid,
                        "account_sid": fake.account_sid,
                        "to": to,
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "status": "queued",
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "date_created": now,
                        "date_updated": now,
                        "date_sent": None,
                        "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
                    },
                )

        return Handler

    def start(self) -> None:
        """Serve in a thread."""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def servers(test):
    """Marks a test that starts the real servers (and needs the trained model)."""
    return pytest.mark.model(pytest.mark.servers(test))


def new_number() -> str:
    """A fictional (555-01xx) number, remembered so the logs can be checked for it."""
    number = f"+1555010{uuid.uuid4().int % 10000:04d}"
    USED_NUMBERS.append(number)
    return number


@pytest.fixture(scope="module")
def fake_twilio():
    """The fake Twilio REST API on loopback."""
    api = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    api.start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def sms_stack(model_path, tmp_path_factory, fake_twilio):
    """Rasa + action server with the SMS channel on, sending to the fake API."""
    from tests.servers import running_stack

    workdir = tmp_path_factory.mktemp("sms")
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_NUMBER": OUR_NUMBER,
        "TWILIO_PUBLIC_URL": PUBLIC_URL,
        "TWILIO_API_URL": fake_twilio.base,
    }
    with running_stack(model_path, workdir, env=env) as stack:
        print(f"SMS stack started in {stack.started_in:.1f} s")
        yield SimpleNamespace(stack=stack, api=fake_twilio, workdir=workdir)


def post_sms(
    sms_env,
    number: str,
    body: str,
    sid: Optional[str] = None,
    signature: Optional[str] = "valid",
    signed_url: str = PUBLIC_URL + WEBHOOK_PATH,
    token: str = AUTH_TOKEN,
) -> requests.Response:
    """POST to the webhook as Twilio would, signed with ``token`` over ``signed_url``."""
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": number,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    headers = {}
    if signature == "valid":
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(
            signed_url, params
        )
    elif signature:
        headers["X-Twilio-Signature"] = signature
    return requests.post(
        sms_env.stack.base + WEBHOOK_PATH, data=params, headers=headers, timeout=30
    )


def text(sms_env, number: str, body: str, timeout: float = 120) -> List[str]:
    """Text the assistant; once the message is handled, the SMS it caused (bodies)."""
    before = len(sms_env.api.to(number))
    sid = "SM" + uuid.uuid4().hex
    answer = post_sms(sms_env, number, body, sid)
    assert answer.status_code == 200, answer.text
    assert "<Response>" in answer.text
    wait_handled(sms_env, sid, timeout)
    return sms_env.api.to(number)[before:]


def wait_handled(sms_env, sid: str, timeout: float = 120) -> dict:
    """The stored inbound message once its processing has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [
            r
            for r in sms.inbound_messages(url=sms_env.stack.db_url)
            if r["message_sid"] == sid and r["status"] != "received"
        ]
        if rows:
            return rows[0]
        time.sleep(0.2)
    raise AssertionError(f"message {sid} not handled in {timeout} s")


def stored_events(db_url: str, sender: str) -> int:
    """How many tracker events the conversation has in the tracker store."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}
            ).scalar()
    finally:
        engine.dispose()


# --- the channel off -----------------------------------------------------------------------


@servers
def test_channel_off_without_credentials(stack):
    """The ordinary stack has no TWILIO_* set: the webhook explains, the rest works."""
    answer = requests.post(stack.base + WEBHOOK_PATH, data={"From": "+15550100000", "Body": "hi"})
    assert answer.status_code == 503
    reason = "SMS channel off: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_NUMBER not set"
    assert reason in answer.text
    assert reason in (stack.db_path.parent / "rasa.log").read_text()
    assert stack.say_text("sms-off-check", "what is klonopin?")


# --- signatures ----------------------------------------------------------------------------


@servers
def test_faq_answer_by_sms(sms_stack):
    number = new_number()
    replies = text(sms_stack, number, "what is klonopin?")
    assert len(replies) == 1 and "Klonopin" in replies[0]
    [sent] = [m for m in sms_stack.api.received if m["To"] == number]
    assert sent["From"] == OUR_NUMBER
    user = [e for e in sms_stack.stack.tracker(number)["events"] if e["event"] == "user"]
    assert user[-1]["text"] == "what is klonopin?"
    assert user[-1]["input_channel"] == "twilio"
    [row] = sms.inbound_messages(phone=number, url=sms_stack.stack.db_url)
    assert row["status"] == "processed" and row["body"] == "what is klonopin?"
    [delivery] = sms.deliveries(phone=number, url=sms_stack.stack.db_url)
    assert delivery["status"] == "sent" and delivery["twilio_sid"].startswith("SM")


@servers
def test_unsigned_or_wrongly_signed_requests_are_refused(sms_stack):
    number = new_number()
    cases = {
        "unsigned": post_sms(sms_stack, number, "what is klonopin?", signature=None),
        "garbage": post_sms(sms_stack, number, "what is klonopin?", signature="bm90IGEgc2ln"),
        "wrong token": post_sms(sms_stack, number, "what is klonopin?", token="not-the-token"),
        # Signed for the server's own address: behind the proxy, Twilio signs the public one.
        "wrong URL": post_sms(
            sms_stack,
            number,
            "what is klonopin?",
            signed_url=sms_stack.stack.base + WEBHOOK_PATH,
        ),
    }
    assert {k: r.status_code for k, r in cases.items()} == dict.fromkeys(cases, 403)
    time.sleep(1)
    assert stored_events(sms_stack.stack.db_url, number) == 0
    assert sms.inbound_messages(phone=number, url=sms_stack.stack.db_url) == []
    assert sms_stack.api.calls.get(number, 0) == 0


@servers
def test_duplicate_delivery_is_handled_once(sms_stack):
    number = new_number()
    sid = "SM" + uuid.uuid4().hex
    assert post_sms(sms_stack, number, "what is klonopin?", sid).status_code == 200
    wait_handled(sms_stack, sid)
    assert post_sms(sms_stack, number, "what is klonopin?", sid).status_code == 200
    time.sleep(1.5)
    assert len(sms.inbound_messages(phone=number, url=sms_stack.stack.db_url)) == 1
    assert len(sms_stack.api.to(number)) == 1


# --- safety, staff -------------------------------------------------------------------------


@servers
def test_crisis_by_sms_then_staff_reply_by_sms(sms_stack, tmp_path):
    from bot.staff.accounts import add_user
    from tests.console_support import PASSWORD, Staff, running_console

    stack, number = sms_stack.stack, new_number()
    replies = text(sms_stack, number, "i want to kill myself")
    assert any("988" in r for r in replies)
    [handoff] = [h for h in list_handoffs(url=stack.db_url) if h["conversation_id"] == number]
    assert handoff["channel"] == "twilio" and handoff["level"] in ("crisis", "emergency")

    add_user("nina", PASSWORD, "Nina (RN)", "staff", url=stack.db_url)
    env = {"WATCHDOG_MINUTES": "1440", "CONSOLE_TRUST_PROXY": "1"}
    OTHER_LOGS.append(tmp_path / "console.log")
    with running_console(stack.db_url, stack.base, stack.token, tmp_path, env) as base:
        nina = Staff(base)
        assert nina.login("nina").ok
        ref = redact(number)
        assert nina.page(f"/c/{ref}").status_code == 200
        before = len(sms_stack.api.to(number))
        claimed = nina.submit(f"/c/{ref}/claim")
        assert "Claimed. The assistant is paused." in claimed.text
        assert any("Nina (RN)" in m for m in sms_stack.api.to(number)[before:])

        # Paused: the patient's message is stored, the assistant does not answer.
        assert text(sms_stack, number, "ok thank you") == []

        sent = nina.submit(f"/c/{ref}/reply", {"text": "I'm Nina, a nurse here. Are you safe?"})
        assert "Sent." in sent.text
        assert (
            sms_stack.api.to(number)[-1]
            == "Nina (RN) (staff): I'm Nina, a nurse here. Are you safe?"
        )

        # A long reply (the console allows 1600 characters, plus the name) is split.
        long_reply = " ".join(f"This is sentence number {i} of a long note." for i in range(40))
        long_reply = long_reply[:1590].rsplit(" ", 1)[0] + "."
        before = len(sms_stack.api.to(number))
        assert "Sent." in nina.submit(f"/c/{ref}/reply", {"text": long_reply}).text
        parts = sms_stack.api.to(number)[before:]
        assert len(parts) == 2 and all(len(p) <= 1600 for p in parts)
        assert parts[0].startswith("Nina (RN) (staff): This is sentence number 0")
        assert parts[0].endswith(".") and " ".join(parts).endswith(long_reply)
        page = nina.page(f"/c/{ref}")
        assert 'id="sms-status"' in page.text and "All texts delivered" in page.text

        # The number opts out mid-conversation: staff are told, and see what did not go out.
        sms.set_opted_out(number, True, url=stack.db_url)
        before = len(sms_stack.api.to(number))
        refused = nina.submit(f"/c/{ref}/reply", {"text": "Are you still there?"})
        assert "not texted: this number has opted out" in refused.text
        assert len(sms_stack.api.to(number)) == before
        page = nina.page(f"/c/{ref}")
        assert "This number has opted out (STOP)" in page.text
        assert "suppressed" in page.text and "Are you still there?" in page.text


@servers
def test_buttons_are_numbered_and_a_number_answers(sms_stack):
    stack, number = sms_stack.stack, new_number()
    replies = text(
        sms_stack, number, "honestly i feel so hopeless lately, whats the point of anything"
    )
    assert any("988" in r for r in replies)
    assert "wished you were dead" in replies[-1]
    assert replies[-1].endswith("1. Yes  2. No\n(Reply with the number.)")
    # Typed "YES" is an answer here, not the carrier keyword (the number never opted out).
    replies = text(sms_stack, number, "YES")
    assert "actual thoughts of killing yourself" in replies[-1] and "1. Yes  2. No" in replies[-1]
    replies = text(sms_stack, number, "2")
    assert "done anything" in replies[-1]
    users = [e for e in stack.tracker(number)["events"] if e["event"] == "user"]
    assert users[-1]["text"] == "/deny" and users[-1]["parse_data"]["intent"]["name"] == "deny"


# --- carrier keywords and opt-out ----------------------------------------------------------


@servers
def test_stop_help_start(sms_stack):
    stack, number = sms_stack.stack, new_number()
    url = stack.db_url
    assert len(text(sms_stack, number, "what is klonopin?")) == 1

    [confirmation] = text(sms_stack, number, "Stop")
    assert "unsubscribed" in confirmation and "START" in confirmation and "988" in confirmation
    assert sms.is_opted_out(number, url=url)

    # Opted out: messages are still stored and handled by the assistant, nothing is sent.
    assert text(sms_stack, number, "what are the side effects of klonopin") == []
    assert text(sms_stack, number, "i want to kill myself") == []
    [handoff] = [h for h in list_handoffs(url=url) if h["conversation_id"] == number]
    assert handoff["channel"] == "twilio" and handoff["level"] in ("crisis", "emergency")
    users = [e["text"] for e in stack.tracker(number)["events"] if e["event"] == "user"]
    assert users[-2:] == ["what are the side effects of klonopin", "i want to kill myself"]
    withheld = sms.deliveries(phone=number, statuses=("suppressed",), url=url)
    assert withheld and any("988" in d["body"] for d in withheld)
    assert all(d["error"] == "opted out" for d in withheld)

    # HELP is answered even when opted out; a second STOP gets no second confirmation.
    [help_reply] = text(sms_stack, number, "help")
    assert "Harbor Light Clinic" in help_reply and "(555) 010-0199" in help_reply
    assert "988" in help_reply and "STOP" in help_reply
    assert text(sms_stack, number, "STOP") == []

    [resubscribed] = text(sms_stack, number, "start")
    assert "resubscribed" in resubscribed
    assert not sms.is_opted_out(number, url=url)
    assert len(text(sms_stack, number, "what is klonopin?")) == 1

    # Keywords are the channel's business: they are stored, not passed to the assistant.
    users = [e["text"] for e in stack.tracker(number)["events"] if e["event"] == "user"]
    assert not {"Stop", "help", "STOP", "start"} & set(users)
    statuses = [r["status"] for r in sms.inbound_messages(phone=number, url=url)]
    assert statuses == ["processed", "keyword", "processed", "processed"] + ["keyword"] * 3 + [
        "processed"
    ]


@servers
def test_stop_synonyms_only_as_the_whole_message(sms_stack):
    number = new_number()
    [confirmation] = text(sms_stack, number, "unsubscribe.")
    assert "unsubscribed" in confirmation
    # From an opted-out number, "yes" is the carrier's START synonym.
    [resubscribed] = text(sms_stack, number, "yes")
    assert "resubscribed" in resubscribed
    other = new_number()
    # Not a keyword: a sentence that starts with "stop" goes through the safety screen.
    replies = text(sms_stack, other, "stop it, i want to kill myself")
    assert any("988" in r for r in replies)
    assert not sms.is_opted_out(other, url=sms_stack.stack.db_url)


# --- delivery: retries and failures --------------------------------------------------------


@servers
def test_send_is_retried_after_server_errors(sms_stack):
    number = new_number()
    sms_stack.api.fail(number, 2, 500)
    replies = text(sms_stack, number, "what is klonopin?")
    assert len(replies) == 1 and "Klonopin" in replies[0]
    assert sms_stack.api.calls[number] == 3
    [delivery] = sms.deliveries(phone=number, url=sms_stack.stack.db_url)
    assert delivery["status"] == "sent" and delivery["attempts"] == 3


@servers
def test_persistent_failure_is_recorded_for_staff(sms_stack):
    stack, number = sms_stack.stack, new_number()
    sms_stack.api.fail(number, 100, 503)
    assert text(sms_stack, number, "what is klonopin?") == []
    assert sms_stack.api.calls[number] == 4
    [delivery] = sms.deliveries(phone=number, url=stack.db_url)
    assert delivery["status"] == "failed" and delivery["attempts"] == 4
    assert "HTTP 503" in delivery["error"] and "Klonopin" in delivery["body"]
    assert number not in delivery["error"] and redact(number) in delivery["error"]
    assert delivery["id"] in [d["id"] for d in sms.failed_deliveries(url=stack.db_url)]
    log = (sms_stack.workdir / "rasa.log").read_text()
    assert f"SMS to {redact(number)} FAILED after 4 attempt(s)" in log

    # A client error (4xx) is not retried.
    sms_stack.api.fail(number, 1, 400)
    before = sms_stack.api.calls[number]
    assert text(sms_stack, number, "what is klonopin?") == []
    assert sms_stack.api.calls[number] == before + 1
    latest = sms.deliveries(phone=number, url=stack.db_url)[0]
    assert latest["status"] == "failed" and latest["attempts"] == 1

    # Operators list what did not go out.
    result = subprocess.run(
        [str(BIN / "python"), "-m", "bot", "sms", "failures"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": stack.db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert number in result.stdout and "HTTP 503" in result.stdout


# --- the pieces, without servers -----------------------------------------------------------


@pytest.mark.parametrize(
    "message, expected",
    [
        ("STOP", "stop"),
        ("stop.", "stop"),
        (" Quit! ", "stop"),
        ("stopall", "stop"),
        ("Cancel", "stop"),
        ("end", "stop"),
        ("UNSUBSCRIBE", "stop"),
        ("start", "start"),
        ("Yes", "start"),
        ("unstop", "start"),
        ("help", "help"),
        ("INFO", "help"),
        ("stop i can't do this anymore", None),
        ("please help me", None),
        ("", None),
    ],
)
def test_keywords(message, expected):
    assert sms.keyword(message) == expected


def test_split_long_messages_on_boundaries():
    sentence = "Withdrawal is different for everyone, so plan it with your prescriber. "
    text_ = sentence * 60  # about 4300 characters
    parts = sms.split_message(text_)
    assert len(parts) == 3 and all(len(p) <= 1600 for p in parts)
    assert all(p.endswith("prescriber.") for p in parts)
    assert " ".join(parts) == text_.strip()
    words = "word " * 700
    assert all(len(p) <= 1600 and not p.endswith("wor") for p in sms.split_message(words))
    assert sms.split_message("x" * 3300) == ["x" * 1600, "x" * 1600, "x" * 100]
    assert sms.split_message("short") == ["short"]
    paragraphs = "a" * 1000 + "\n\n" + "b. " * 300
    assert sms.split_message(paragraphs)[0] == "a" * 1000


def test_numbered_buttons_map_back_to_payloads(db_url):
    number = "+15550100111"
    buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    rendered = sms.render_buttons("Are you safe right now?", buttons)
    assert rendered == "Are you safe right now?\n\n1. Yes  2. No\n(Reply with the number.)"
    sms.remember_buttons(number, buttons)
    assert sms.take_choice(number, "2") == "/deny"
    assert sms.take_choice(number, "2") == "2", "buttons are used up by the answer"
    sms.remember_buttons(number, buttons)
    assert sms.take_choice(number, "3") == "3", "not one of the choices"
    sms.remember_buttons(number, buttons)
    assert sms.take_choice(number, " 1. ") == "/affirm"
    sms.remember_buttons(number, buttons)
    assert sms.take_choice(number, "i am not sure") == "i am not sure"
    assert sms.take_choice(number, "1") == "1"


def test_opt_out_state(db_url):
    number = "+15550100112"
    assert not sms.is_opted_out(number)
    assert sms.set_opted_out(number, True) is False
    assert sms.is_opted_out(number)
    assert sms.set_opted_out(number, False) is True
    assert not sms.is_opted_out(number)


def test_configuration_from_the_environment(monkeypatch, caplog):
    from bot.channels.twilio_sms import TwilioSMSInput

    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER", "TWILIO_PUBLIC_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TWILIO_NUMBER", OUR_NUMBER)
    off = TwilioSMSInput.from_credentials(None)
    assert off.off_reason == "SMS channel off: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN not set"
    assert off.get_output_channel() is None
    assert off.off_reason in caplog.text

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_PUBLIC_URL", "https://bot.example.org/")
    monkeypatch.setenv("TWILIO_API_URL", "http://127.0.0.1:9/")
    on = TwilioSMSInput.from_credentials(None)
    assert on.off_reason is None
    assert on.client.api.base_url == "http://127.0.0.1:9"
    assert on.get_output_channel().name() == "twilio"
    request = SimpleNamespace(
        url="http://10.0.0.5:5005/webhooks/twilio/webhook?x=1",
        path="/webhooks/twilio/webhook",
        query_string="x=1",
    )
    assert on.signed_url(request) == "https://bot.example.org/webhooks/twilio/webhook?x=1"
    on.public_url = None
    assert on.signed_url(request) == request.url


# --- last: what the servers wrote -----------------------------------------------------------


@servers
def test_phone_numbers_never_in_the_logs(sms_stack):
    assert len(USED_NUMBERS) >= 5
    logs = {
        path.name: path.read_text()
        for path in [sms_stack.workdir / "rasa.log", sms_stack.workdir / "actions.log", *OTHER_LOGS]
    }
    assert redact(USED_NUMBERS[0]) in logs["rasa.log"] or any(
        redact(n) in logs["rasa.log"] for n in USED_NUMBERS
    )
    for name, content in logs.items():
        for number in USED_NUMBERS:
            assert number not in content, f"{number} in {name}"
            assert number.lstrip("+") not in content, f"{number} in {name}"
            assert number[-10:] not in content, f"{number} in {name}"


# --- hostile input (see also tests/test_hostile_input.py) ---------------------------------


@servers
def test_an_over_long_sms_is_stored_and_answered_with_the_reason(sms_stack):
    number = new_number()
    replies = text(sms_stack, number, "what is klonopin? " * 400)
    assert len(replies) == 1 and "too long" in replies[0] and "988" in replies[0]
    [row] = sms.inbound_messages(phone=number, url=sms_stack.stack.db_url)
    assert row["status"] == "ignored" and row["error"] == "refused: message_too_long"
    assert len(row["body"]) == len("what is klonopin? " * 400), "stored as received"
    assert stored_events(sms_stack.stack.db_url, number) == 0


@servers
def test_fuzzed_signed_sms_webhooks(sms_stack):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tests.test_hostile_input import FUZZ, hostile_text, record

    sids: list = []

    @settings(FUZZ, max_examples=40)
    @given(
        body=hostile_text,
        sender=st.sampled_from(["", "x" * 300, "+1555\x000100", "not a number"])
        | st.builds(new_number),
        extra=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=50), max_size=3),
    )
    def case(body, sender, extra):
        sid = "SM" + uuid.uuid4().hex
        params = {**extra, "MessageSid": sid, "From": sender, "To": OUR_NUMBER, "Body": body}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            PUBLIC_URL + WEBHOOK_PATH, params
        )
        answer = requests.post(
            sms_stack.stack.base + WEBHOOK_PATH,
            data=params,
            headers={"X-Twilio-Signature": signature},
            timeout=30,
        )
        record("sms webhook (fuzzed)", answer.status_code)
        assert answer.status_code in (200, 400), answer.text[:300]
        if answer.status_code == 200:
            assert "<Response>" in answer.text
            sids.append(sid)
        else:
            # A missing From, or one that is not a phone number (the SMS channel's ids,
            # bot.channels.conversation_ids), is a 400.
            assert (
                not sender
                or not conversation_ids.is_valid(sender)
                or not sender.startswith(("+", "whatsapp:+"))
            ), "only a missing or malformed From is a 400"

    case()
    assert sids, "some fuzzed messages were accepted"
    rows = [wait_handled(sms_stack, sid, timeout=300) for sid in sids]
    statuses = {r["status"] for r in rows}
    assert "received" not in statuses and "failed" not in statuses, statuses
    assert requests.get(sms_stack.stack.base + "/webhooks/twilio/", timeout=10).json() == {
        "status": "ok"
    }
    number = new_number()
    assert any("Klonopin" in r for r in text(sms_stack, number, "what is klonopin?"))

"""One patient, one conversation: the attacks of issue 12's High findings, performed.

1. A sender id with path segments (``pt-atk/../pt-victim-1``) once reached the victim's
   conversation through the console's Rasa client.
2. A socket.io client once chose its session id (a REST id, a phone number) and so became
   the conversation's latest channel: staff replies went to the attacker.
3. The action server once took forged trackers from anyone (tests/test_action_server.py).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid

import pytest

from bot.channels import conversation_ids, web_sessions
from bot.staff.rasa_client import RasaClient, RasaError

# --- the one definition of a conversation id (no servers) ---------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "pt-atk/../pt-victim-1",
        "../pt-victim-1",
        "..",
        ".",
        "a/b",
        "a%2F..%2Fb",
        "a b",
        "a?token=x",
        "a#b",
        "ünï",
        "-leading-dash",
        "",
        "x" * 129,
    ],
)
def test_ids_that_could_leave_their_url_segment_are_invalid(bad):
    assert not conversation_ids.is_valid(bad)
    with pytest.raises(conversation_ids.InvalidConversationId):
        conversation_ids.check(bad, "rest")


def test_each_channel_owns_its_namespace():
    web_id, _token = web_sessions.issue()
    assert conversation_ids.check("pt-1", "rest") == "pt-1"
    assert conversation_ids.check("+15550100123", "twilio") == "+15550100123"
    assert conversation_ids.check("whatsapp:+15550100123", "twilio")
    assert conversation_ids.check(web_id, "socketio") == web_id
    # A REST client can name neither a phone number nor a widget's conversation, nor
    # anything that looks like one (outside review: case variants, a leading zero) ...
    lookalikes = (web_id.upper(), "WhatsApp:+15550100123", "+015550100123", "Web-x")
    for foreign in ("+15550100123", "whatsapp:+15550100123", web_id, *lookalikes):
        with pytest.raises(conversation_ids.InvalidConversationId):
            conversation_ids.check(foreign, "rest")
    # ... and SMS only phone numbers, the widget only its own issued ids.
    with pytest.raises(conversation_ids.InvalidConversationId):
        conversation_ids.check("pt-1", "twilio")
    with pytest.raises(conversation_ids.InvalidConversationId):
        conversation_ids.check("web-chosen-by-me", "socketio")


def test_console_urls_are_built_per_segment_and_refuse_traversal():
    client = RasaClient("http://rasa.internal:5005", "t0k&n")
    url = client.url("+15550100123", "tracker", "events")
    assert url.raw_path == "/conversations/+15550100123/tracker/events"
    assert url.query_string == "token=t0k%26n"
    with pytest.raises(RasaError):
        client.url("pt-atk/../pt-victim-1", "tracker", "events")
    with pytest.raises(RasaError):
        client.url("pt-atk%2F..%2Fpt-victim-1", "execute")


def test_session_tokens_are_signed_and_name_only_web_conversations():
    conversation_id, token = web_sessions.issue()
    assert web_sessions.verify(token) == conversation_id
    body, signature = token.split(".")
    other_id, other_token = web_sessions.issue()
    assert other_id != conversation_id
    # Another conversation's id with this token's signature, a REST id or a phone number
    # with any signature, an unsigned id: none of them is a session.
    assert web_sessions.verify(f"{other_id}.{signature}") is None
    assert web_sessions.verify(f"pt-victim-1.{signature}") is None
    assert web_sessions.verify(f"+15550100123.{signature}") is None
    assert web_sessions.verify(conversation_id) is None
    assert web_sessions.verify(token + "x") is None
    assert web_sessions.verify({"session_id": token}) is None


# --- against the running servers -----------------------------------------------------------


def _rest(stack, sender, message):
    body = json.dumps({"sender": sender, "message": message}).encode()
    req = urllib.request.Request(
        f"{stack.base}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.mark.model
@pytest.mark.servers
def test_a_traversing_sender_id_cannot_reach_another_conversation(console):
    """The reported attack: open a crisis as ``pt-atk/../<victim>`` and let staff claim it."""
    stack = console.stack
    victim = f"pt-victim-{uuid.uuid4().hex[:8]}"
    assert stack.say_text(victim, "what is klonopin?")
    attack = f"pt-atk/../{victim}"
    status, body = _rest(stack, attack, "i want to kill myself")
    assert status == 400 and body["error"] == "invalid_sender"
    assert "988" in body["message"], "a refusal still names the crisis line"
    # Even for an id stored before the rules (or forged into our tables), the console's
    # client refuses to build the URL: nothing reaches the victim's conversation.
    client = RasaClient(stack.base, stack.token)
    with pytest.raises(RasaError):
        asyncio.run(client.pause(attack))
    with pytest.raises(RasaError):
        asyncio.run(client.send_staff_message(attack, "Sam (RN)", "hello"))
    tracker = stack.tracker(victim)
    assert tracker["paused"] is False
    assert not any("Sam (RN)" in (e.get("text") or "") for e in tracker["events"])


@pytest.mark.model
@pytest.mark.servers
def test_rest_cannot_write_into_a_phone_or_widget_conversation(stack):
    web_id, _token = web_sessions.issue()
    for foreign in ("+15550100123", web_id):
        status, body = _rest(stack, foreign, "what is klonopin?")
        assert status == 400 and body["error"] == "invalid_sender", foreign
        events = stack.tracker(foreign)["events"]
        assert not [e for e in events if e["event"] == "user"], "nothing was stored"


class _Widget:
    """A socket.io client, as the widget: asks for a session, then sends messages."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.received: list = []
        self.tokens: list = []

    async def open(self, session_id=None):
        import socketio

        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("bot_uttered", lambda data: self.received.append(data))
        self.client.on("session_confirm", lambda token: self.tokens.append(token))
        await self.client.connect(self.base, transports=["websocket"], socketio_path="/socket.io")
        before = len(self.tokens)
        await self.client.emit("session_request", {"session_id": session_id})
        await self._until(lambda: len(self.tokens) > before, "a session")
        return self.tokens[-1]

    async def say(self, text: str, session_id: str) -> list:
        before = len(self.received)
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id})
        await self._until(lambda: len(self.received) > before, "an answer")
        await asyncio.sleep(0.5)  # the rest of this turn's messages
        return [m.get("text") or "" for m in self.received[before:]]

    async def _until(self, check, what: str, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            assert asyncio.get_running_loop().time() < deadline, f"no {what}"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.client.disconnect()


@pytest.mark.model
@pytest.mark.servers
async def test_a_socket_cannot_choose_or_take_over_a_session(console):
    """The reported attack: ``session_request`` with the victim's id, then one message, so
    staff replies go to the attacker's socket. Now the server issues every session."""
    stack = console.stack
    rest_victim = f"pt-victim-{uuid.uuid4().hex[:8]}"
    assert stack.say_text(rest_victim, "what is klonopin?")
    patient, attacker = _Widget(stack.base), _Widget(stack.base)
    try:
        token = await patient.open()
        victim = web_sessions.verify(token)
        assert victim and victim.startswith("web-"), "the server issued the id"
        assert await patient.say("what is klonopin?", token)

        for chosen in (rest_victim, "+15550100123", victim, f"{victim}.forged", "web-" + "0" * 32):
            issued = await attacker.open(chosen)
            assert web_sessions.verify(issued) not in (rest_victim, "+15550100123", victim)
        # Naming the patient's token in a message from a socket that was not issued it
        # (nor resumed it) is refused, and nothing is written into the conversation.
        refused = await attacker.say("hello? i am the patient", token)
        assert "not open on this connection" in refused[0] and "988" in refused[0]
        users = [e for e in stack.tracker(victim)["events"] if e["event"] == "user"]
        assert [u["text"] for u in users] == ["what is klonopin?"]

        # A staff reply for the patient reaches the patient's socket, not the attacker's.
        client = RasaClient(stack.base, stack.token)
        marker = f"only for the patient {uuid.uuid4().hex[:6]}"
        got = len(attacker.received)
        await client.send_staff_message(victim, "Sam (RN)", marker)
        await patient._until(
            lambda: any(marker in (m.get("text") or "") for m in patient.received), "the reply"
        )
        assert not any(marker in (m.get("text") or "") for m in attacker.received[got:])
        # The REST victim's conversation still answers on REST, not on a socket.
        assert stack.tracker(rest_victim)["latest_input_channel"] == "rest"
    finally:
        await patient.close()
        await attacker.close()


@pytest.mark.model
@pytest.mark.servers
async def test_the_widget_resumes_its_own_session_after_a_reload(stack):
    widget = _Widget(stack.base)
    try:
        token = await widget.open()
        assert await widget.say("what is klonopin?", token)
    finally:
        await widget.close()
    again = _Widget(stack.base)
    try:
        resumed = await again.open(token)
        assert resumed == token, "the same conversation after a reload"
        assert await again.say("how long does withdrawal last", resumed)
    finally:
        await again.close()
    users = [e for e in stack.tracker(token.split(".")[0])["events"] if e["event"] == "user"]
    assert len(users) == 2


@pytest.mark.model
@pytest.mark.servers
async def test_other_sites_cannot_open_widget_sessions(stack):
    """Outside review: a hostile page could open sessions from its visitors' browsers."""
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            stack.base,
            transports=["websocket"],
            socketio_path="/socket.io",
            headers={"Origin": "https://evil.example"},
        )
    same = socketio.AsyncClient(reconnection=False)
    await same.connect(
        stack.base, transports=["websocket"], socketio_path="/socket.io",
        headers={"Origin": stack.base},
    )  # fmt: skip
    assert same.connected
    await same.disconnect()


def test_configured_widget_sites_may_connect(monkeypatch):
    from bot.channels.socketio_shared import allowed_origins

    monkeypatch.delenv("WIDGET_ORIGINS", raising=False)
    assert allowed_origins() is None, "same origin only"
    monkeypatch.setenv("WIDGET_ORIGINS", "https://clinic.example")
    monkeypatch.setenv("WIDGET_PUBLIC_URL", "https://chat.clinic.example/")
    assert allowed_origins() == ["https://chat.clinic.example", "https://clinic.example"]

"""Bad and hostile input on every public endpoint: clear 4xx or a safe reply, nothing lost.

Unit tests cover ``bot.limits`` (cleaning, sender ids, length, per-sender rate, the
crisis exception, the Redis-shared count and what happens when Redis is down). The rest
runs against the real Rasa server (the ``stack`` fixture, SQLite) and the staff console:
hand-picked cases first (empty, whitespace, 1 MB, invalid JSON, wrong content type,
invalid UTF-8, NUL and control characters, emoji and right-to-left text, long sender
ids, HTML and script), then property-based fuzzing with hypothesis for a bounded number
of cases per endpoint (REST webhook, socket.io, HTTP API, staff console; the SMS webhook
is fuzzed in tests/test_sms.py beside its fixture). After each batch the server must be
up and a bystander conversation must be untouched. The outcomes are counted into
``results/hostile-input.json``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.limits import (
    Gate,
    Limits,
    Refused,
    address_key,
    check_sender,
    clean_text,
    client_address,
)
from tests.conftest import ROOT

REDIS_URL = "redis://127.0.0.1:6379/0"
RESULTS = ROOT / "results" / "hostile-input.json"
OUTCOMES: dict = {}
_outcome_lock = threading.Lock()
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    # No shrinking: against live servers it can take many minutes; the failing example
    # is reported as found.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def record(endpoint: str, outcome) -> None:
    """Count one case's outcome (status code or reply kind) for the results file."""
    with _outcome_lock:
        OUTCOMES.setdefault(endpoint, Counter())[str(outcome)] += 1


def write_outcomes() -> None:
    """Write the counted outcomes (called once at the end of the run, tests/conftest.py)."""
    if not OUTCOMES:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = {k: dict(sorted(v.items())) for k, v in sorted(OUTCOMES.items())}
    data["total"] = sum(sum(v.values()) for v in OUTCOMES.values())
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nhostile inputs tried: {data['total']} -> {RESULTS}")


# --- bot.limits ------------------------------------------------------------------------


def test_clean_text_drops_control_characters_and_keeps_emoji_and_rtl():
    text = "a\x00b\x07c\x1b[31m\x7f\x85\nnew\tline \u202eשלום 😀 مرحبا"
    assert clean_text(text) == "abc[31m\nnew\tline \u202eשלום 😀 مرحبا"
    assert clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"


@pytest.mark.parametrize(
    "sender",
    [
        None,
        "",
        "   ",
        42,
        ["a"],
        {"a": 1},
        "x" * 129,
        "a\x00b",
        "a\nb",
        "\udcff",
        "a/../b",
        "a%2Fb",
    ],
)
def test_unusable_sender_ids_are_refused(sender):
    with pytest.raises(Refused) as exc:
        check_sender(sender, Limits(), "rest")
    assert exc.value.status == 400 and exc.value.code == "invalid_sender"


def test_sender_ids_up_to_the_limit_are_fine():
    assert check_sender("x" * 128, Limits(), "rest") == "x" * 128
    assert check_sender("+15550100123", Limits(), "twilio") == "+15550100123"


def _gate(**kw) -> Gate:
    return Gate(Limits(**kw))


@pytest.mark.parametrize(
    "message, status, code",
    [
        (None, 400, "invalid_message"),
        (12, 400, "invalid_message"),
        ({"text": "hi"}, 400, "invalid_message"),
        ("", 400, "empty_message"),
        (" \n\t ", 400, "empty_message"),
        ("\x00\x01\x02", 400, "empty_message"),
        ("x" * 101, 413, "message_too_long"),
    ],
)
def test_bad_messages_are_refused_with_the_crisis_line(message, status, code):
    with pytest.raises(Refused) as exc:
        _gate(max_message_chars=100).admit("rest", "s", message)
    assert (exc.value.status, exc.value.code) == (status, code)
    body = exc.value.to_dict()
    assert body["error"] == code
    assert "988" in body["message"] and "911" in body["message"]


def test_a_crisis_in_a_too_long_message_is_admitted_cut_to_the_limit():
    gate = _gate(max_message_chars=100)
    text = "i want to kill myself, " + "and nothing helps " * 20
    admitted = gate.admit("rest", "s", text)
    assert admitted == text[:100]
    with pytest.raises(Refused):
        gate.admit("rest", "s", "what is klonopin? " * 10)


def test_rate_limit_per_sender_and_channel_and_the_crisis_exception():
    gate = _gate(rate_per_minute=3)
    window = int(time.time() // 60)
    # Stay in one minute window so the count cannot reset half-way.
    while int(time.time() // 60) != window or time.time() % 60 > 55:
        time.sleep(1)
        window = int(time.time() // 60)
    for _ in range(3):
        assert gate.admit("rest", "fast", "hello") == "hello"
    with pytest.raises(Refused) as first:
        gate.admit("rest", "fast", "hello")
    assert first.value.status == 429 and first.value.first
    assert 0 < first.value.retry_after <= 60
    with pytest.raises(Refused) as second:
        gate.admit("rest", "fast", "hello")
    assert not second.value.first, "only the first refusal in a window is marked first"
    assert gate.admit("rest", "slow", "hello") == "hello", "other senders are not affected"
    assert gate.admit("twilio", "+15550100123", "hello") == "hello", "other channels neither"
    urgent = "i am going to kill myself tonight"
    assert gate.admit("rest", "fast", urgent) == urgent, "never rate-limit a crisis"


def test_rotating_sender_ids_meet_the_limit_per_address():
    """Issue 12 (6): a new sender id per message once lifted the per-sender limit."""
    gate = _gate(rate_per_minute=3, address_rate_per_minute=5)
    while time.time() % 60 > 50:  # one minute window for the whole test
        time.sleep(1)
    here, elsewhere = address_key("203.0.113.7"), address_key("198.51.100.2")
    for i in range(5):
        assert gate.admit("rest", f"rotating-{i}", "hello", here) == "hello"
    with pytest.raises(Refused) as refused:
        gate.admit("rest", "rotating-5", "hello", here)
    assert refused.value.status == 429 and "network" in refused.value.detail
    assert gate.admit("rest", "rotating-6", "hello", elsewhere) == "hello", "others unaffected"
    urgent = "i am going to kill myself tonight"
    assert gate.admit("rest", "rotating-7", urgent, here) == urgent, "a crisis is answered"


def test_the_client_address_is_the_one_our_proxy_appended():
    forged = "1.2.3.4, 203.0.113.7"  # the client wrote 1.2.3.4; nginx appended the peer
    assert client_address("10.0.0.5", forged, trust_proxy=True) == "203.0.113.7"
    assert client_address("10.0.0.5", forged, trust_proxy=False) == "10.0.0.5"
    assert address_key("203.0.113.7") != address_key("203.0.113.8")
    assert "203.0.113.7" not in address_key("203.0.113.7")


def test_rate_limit_off_with_zero():
    gate = _gate(rate_per_minute=0)
    for _ in range(100):
        gate.admit("rest", "s", "hi")


def test_the_rate_count_is_shared_through_redis(monkeypatch):
    import redis

    prefix = "ratetest" + uuid.uuid4().hex[:8]
    monkeypatch.setenv("LOCK_STORE_KEY_PREFIX", prefix)
    red = redis.Redis.from_url(REDIS_URL)
    red.ping()  # the real Redis; fails (does not skip) without it
    a, b = (Gate(Limits(rate_per_minute=4), REDIS_URL) for _ in range(2))
    try:
        window = int(time.time() // 60)
        while time.time() % 60 > 55:
            time.sleep(1)
            window = int(time.time() // 60)
        for gate in (a, b, a, b):
            gate.admit("rest", "shared", "hi")
        with pytest.raises(Refused):
            b.admit("rest", "shared", "hi")  # the fifth, counted by both replicas
        assert int(red.get(f"{prefix}:rate:rest:shared:{window}")) == 5
        assert red.ttl(f"{prefix}:rate:rest:shared:{window}") > 0, "keys expire"
    finally:
        for key in red.scan_iter(f"{prefix}:*"):
            red.delete(key)


def test_with_redis_down_messages_still_pass(caplog):
    from tests.conftest import free_port

    gate = Gate(Limits(rate_per_minute=2), f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level("WARNING", logger="bot.limits"):
        assert gate.admit("rest", "s", "hi") == "hi"
    assert "Redis unavailable" in caplog.text
    gate.admit("rest", "s", "hi")
    with pytest.raises(Refused):
        gate.admit("rest", "s", "hi")  # counted in memory instead


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "200")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv("REQUEST_MAX_BYTES", "4096")
    limits = Limits.from_env()
    assert (limits.max_message_chars, limits.rate_per_minute, limits.request_max_bytes) == (
        200,
        0,
        4096,
    )
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "lots")
    with pytest.raises(ValueError, match="MAX_MESSAGE_CHARS"):
        Limits.from_env()


# --- the REST webhook, by hand -----------------------------------------------------------


def rest(stack, body, content_type="application/json", raw=False):
    data = body if raw else json.dumps(body).encode()
    return requests.post(
        f"{stack.base}/webhooks/rest/webhook",
        data=data,
        headers={"Content-Type": content_type},
        timeout=120,
    )


@pytest.fixture(scope="module")
def bystander(stack):
    """A conversation that must be untouched by everything hostile done to the server."""
    sender = "bystander-" + uuid.uuid4().hex[:8]
    assert "Sources:" in stack.say_text(sender, "what is klonopin?")
    return sender, len(stack.tracker(sender)["events"])


def assert_unharmed(stack, bystander) -> None:
    sender, events = bystander
    assert requests.get(stack.base + "/", timeout=10).ok, "the server is up"
    assert len(stack.tracker(sender)["events"]) == events, "the bystander is untouched"


CASES = [
    ("empty body", b"", "application/json", 400, "invalid_json"),
    ("not JSON", b"{sender: me", "application/json", 400, "invalid_json"),
    ("JSON array", b'["me", "hi"]', "application/json", 400, "invalid_json"),
    ("JSON string", b'"hi"', "application/json", 400, "invalid_json"),
    ("invalid UTF-8", b'{"sender": "me", "message": "\xff\xfe\xc3("}', "application/json", 400,
     "invalid_json"),
    ("multipart", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--",
     "multipart/form-data; boundary=x", 400, "invalid_json"),
    ("no message", b'{"sender": "me"}', "application/json", 400, "invalid_message"),
    ("message null", b'{"sender": "me", "message": null}', "application/json", 400,
     "invalid_message"),
    ("message number", b'{"sender": "me", "message": 5}', "application/json", 400,
     "invalid_message"),
    ("empty message", b'{"sender": "me", "message": ""}', "application/json", 400,
     "empty_message"),
    ("whitespace", b'{"sender": "me", "message": " \\n\\t "}', "application/json", 400,
     "empty_message"),
    ("NUL only", b'{"sender": "me", "message": "\\u0000\\u0000"}', "application/json", 400,
     "empty_message"),
    ("no sender", b'{"message": "hi"}', "application/json", 400, "invalid_sender"),
    ("sender object", b'{"sender": {"id": 1}, "message": "hi"}', "application/json", 400,
     "invalid_sender"),
    ("long sender", json.dumps({"sender": "s" * 5000, "message": "hi"}).encode(),
     "application/json", 400, "invalid_sender"),
    ("metadata list", b'{"sender": "me", "message": "hi", "metadata": [1]}', "application/json",
     400, "invalid_metadata"),
    ("too long", json.dumps({"sender": "me", "message": "ab " * 3000}).encode(),
     "application/json", 413, "message_too_long"),
]  # fmt: skip


@pytest.mark.model
@pytest.mark.servers
@pytest.mark.parametrize("name, body, content_type, status, code", CASES, ids=[c[0] for c in CASES])
def test_bad_rest_requests_get_a_clear_4xx(
    stack, bystander, name, body, content_type, status, code
):
    answer = rest(stack, body, content_type, raw=True)
    record("rest (by hand)", answer.status_code)
    assert answer.status_code == status, answer.text
    payload = answer.json()
    assert payload["error"] == code
    assert "988" in payload["message"], "every refusal names the crisis line"
    assert_unharmed(stack, bystander)


@pytest.mark.model
@pytest.mark.servers
def test_a_1mb_message_is_refused_by_the_body_limit_and_nothing_is_stored(stack, bystander):
    sender = "huge-" + uuid.uuid4().hex[:8]
    answer = rest(stack, {"sender": sender, "message": "x" * (1024 * 1024)})
    record("rest (by hand)", answer.status_code)
    assert answer.status_code == 413
    status, body = stack.get(f"/conversations/{sender}/tracker")
    assert status == 200 and not [e for e in body["events"] if e["event"] == "user"]
    assert_unharmed(stack, bystander)
    log = (stack.workdir / "rasa.log").read_text()
    assert "Request bodies limited to 262144 bytes" in log
    assert "Tracker store errors fail the request (no in-memory fallback)" in log


@pytest.mark.model
@pytest.mark.servers
def test_form_content_type_with_a_json_body_is_answered(stack):
    # `curl -d '{...}'` sends application/x-www-form-urlencoded: the README's example.
    sender = "curl-" + uuid.uuid4().hex[:8]
    body = {"sender": sender, "message": "what is klonopin?"}
    answer = rest(stack, body, "application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert "Sources:" in " ".join(r.get("text", "") for r in answer.json())


@pytest.mark.model
@pytest.mark.servers
def test_control_characters_are_removed_before_anything_is_stored(stack):
    sender = "ctrl-" + uuid.uuid4().hex[:8]
    answer = rest(stack, {"sender": sender, "message": "what is\x00 klonopin?\x1b\x07"})
    assert answer.status_code == 200 and answer.json()
    users = [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    assert users[-1]["text"] == "what is klonopin?"


@pytest.mark.model
@pytest.mark.servers
@pytest.mark.parametrize(
    "text",
    [
        "😀😀 what is klonopin? 🙏",
        "מה זה קלונופין؟ \u202e what is klonopin",
        "<script>alert(1)</script><img src=x onerror=alert(2)> what is klonopin",
        "'; DROP TABLE events; --",
        "{{ 7*7 }} ${jndi:ldap://x} %s%s%n",
    ],
)
def test_unusual_text_is_answered_safely_and_stored_as_written(stack, text):
    sender = "odd-" + uuid.uuid4().hex[:8]
    answer = rest(stack, {"sender": sender, "message": text})
    record("rest (by hand)", answer.status_code)
    assert answer.status_code == 200
    replies = answer.json()
    assert replies and all(isinstance(r.get("text", ""), str) for r in replies)
    joined = " ".join(r.get("text", "") for r in replies)
    assert "<script" not in joined and "onerror" not in joined, "user text is never echoed"
    users = [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    assert users[-1]["text"] == text
    assert stack.get("/status")[0] == 200


@pytest.mark.model
@pytest.mark.servers
def test_clients_cannot_choose_the_input_channel(stack):
    sender = "pt-" + uuid.uuid4().hex[:8]
    body = {"sender": sender, "message": "what is klonopin?", "input_channel": "twilio"}
    assert rest(stack, body).status_code == 200
    users = [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    assert users[-1]["input_channel"] == "rest", "staff replies must not be texted to it"
    # Nor write into an SMS conversation: a phone number is the SMS channel's id.
    phone = {**body, "sender": "+15550100999"}
    assert rest(stack, phone).status_code == 400


@pytest.mark.model
@pytest.mark.servers
def test_rate_limit_on_the_rest_channel_never_blocks_a_crisis(stack, bystander):
    sender = "flood-" + uuid.uuid4().hex[:8]
    statuses = []
    # At most two minute-windows' worth: the limit (30) is reached within them.
    for _ in range(61):
        answer = rest(stack, {"sender": sender, "message": "hello"})
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
    record("rest (by hand)", 429 if statuses[-1] == 429 else statuses[-1])
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {200}
    assert 0 < int(answer.headers["Retry-After"]) <= 60
    assert "988" in answer.json()["message"]
    crisis = rest(stack, {"sender": sender, "message": "i want to end my life"})
    assert crisis.status_code == 200 and "988" in crisis.text, "a crisis passes the rate limit"
    assert "Sources:" in stack.say_text("other-" + uuid.uuid4().hex[:6], "what is klonopin?")
    assert_unharmed(stack, bystander)


# --- the REST webhook, fuzzed ------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
hostile_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from(list("\x00\x1b\u202e")),
    max_size=300,
) | st.sampled_from(["", " ", "<script>alert(1)</script>", "x" * 6000, "\ufeff", "🙂" * 50])
rest_bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"sender": st.text(min_size=1, max_size=20) | json_values, "message": hostile_text},
        optional={"metadata": json_values, "input_channel": json_values},
    ).map(lambda v: json.dumps(v).encode()),
)


@pytest.mark.model
@pytest.mark.servers
def test_fuzzed_rest_bodies(stack, bystander):
    @FUZZ
    @given(body=rest_bodies, content_type=st.sampled_from(["application/json", "text/plain"]))
    def case(body, content_type):
        answer = rest(stack, body, content_type, raw=True)
        record("rest (fuzzed)", answer.status_code)
        assert answer.status_code in (200, 400, 413, 429), (body[:200], answer.text[:300])
        payload = answer.json()
        if answer.status_code == 200:
            assert isinstance(payload, list)
        else:
            assert payload["error"] and "988" in payload["message"]

    case()
    assert_unharmed(stack, bystander)


# --- the HTTP API (token-protected), fuzzed -----------------------------------------------

API_PATHS = [
    ("POST", "/conversations/{sid}/messages"),
    ("POST", "/conversations/{sid}/tracker/events"),
    ("PUT", "/conversations/{sid}/tracker/events"),
    ("POST", "/conversations/{sid}/execute"),
    ("POST", "/conversations/{sid}/trigger_intent"),
    ("POST", "/conversations/{sid}/predict"),
    ("POST", "/model/parse"),
]


@pytest.mark.model
@pytest.mark.servers
def test_fuzzed_http_api(stack, bystander):
    """Rasa's own API: malformed bodies get 4xx (a body that is not a JSON object was a
    500 from Rasa: bot.channels.rest.api_body_check), never take the server down."""
    victim = "api-fuzz-" + uuid.uuid4().hex[:8]

    @FUZZ
    @given(
        route=st.sampled_from(API_PATHS),
        body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
    )
    def case(route, body):
        method, path = route
        answer = requests.request(
            method,
            f"{stack.base}{path.format(sid=victim)}?token={stack.token}",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        record("http api (fuzzed)", answer.status_code)
        assert answer.status_code < 500, (route, body[:200], answer.text[:300])
        if answer.status_code >= 400:
            assert answer.content, "a reason is given"

    case()
    unauthorised = requests.post(f"{stack.base}/model/parse", json={"text": "hi"}, timeout=30)
    assert unauthorised.status_code == 401
    assert_unharmed(stack, bystander)


# --- socket.io, fuzzed --------------------------------------------------------------------


async def _socketio_case(base: str, request_data, message_data, session=None) -> list:
    """Send ``message_data`` after ``request_data``; the bot messages received. The token
    the server confirmed is appended to ``session``."""
    import socketio

    received: list = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("bot_uttered", lambda data: received.append(data))
    confirmed = asyncio.Event()
    session = [] if session is None else session
    client.on("session_confirm", lambda sid: (session.append(sid), confirmed.set()))
    await client.connect(base, transports=["websocket"], socketio_path="/socket.io")
    try:
        await client.emit("session_request", request_data)
        await asyncio.wait_for(confirmed.wait(), 20)
        if isinstance(message_data, dict) and message_data.get("session_id") == CONFIRMED:
            message_data = {**message_data, "session_id": session[0]}
        await client.emit("user_uttered", message_data)
        deadline = asyncio.get_running_loop().time() + 20
        while not received and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await client.disconnect()
    return received


CONFIRMED = "<the session confirmed to this socket>"
socketio_payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "session_id": st.just(CONFIRMED) | st.text(max_size=200) | json_values,
            "message": hostile_text,
        }
    ),
)


@pytest.mark.model
@pytest.mark.servers
def test_fuzzed_socketio_events_get_an_answer_or_a_reason(stack, bystander):
    @settings(FUZZ, max_examples=60)
    @given(request_data=json_values, message_data=socketio_payloads)
    def case(request_data, message_data):
        received = asyncio.run(_socketio_case(stack.base, request_data, message_data))
        kind = "answer" if received else "nothing"
        if received and any("988" in (m.get("text") or "") for m in received):
            kind = "answer or refusal with the crisis line"
        record("socket.io (fuzzed)", kind)
        # Everything sent is answered: a reply, or the reason it was refused.
        assert received, (request_data, message_data)
        for message in received:
            assert isinstance(message.get("text", ""), str)

    case()
    assert_unharmed(stack, bystander)


@pytest.mark.model
@pytest.mark.servers
def test_socketio_refusals_name_the_crisis_line(stack):
    victim = "sio-victim-" + uuid.uuid4().hex[:6]
    assert stack.say_text(victim, "what is klonopin?")
    for data in (
        {"session_id": "s" * 500, "message": "hi"},
        ["not", "an", "object"],
        {"session_id": CONFIRMED, "message": "\ufeff\u200b "},
        {"session_id": victim, "message": "what is klonopin?"},  # not this socket's session
    ):
        received = asyncio.run(_socketio_case(stack.base, {"session_id": "ok-id"}, data))
        assert received and "988" in received[0]["text"], data
    users = [e for e in stack.tracker(victim)["events"] if e["event"] == "user"]
    assert len(users) == 1, "nothing was written into another session"
    sessions: list = []
    received = asyncio.run(
        _socketio_case(stack.base, {}, {"session_id": CONFIRMED, "message": "\x00hi\x00"}, sessions)
    )
    assert received, "an ordinary answer"
    session = sessions[0].split(".")[0]  # the server-issued conversation id
    users = [e for e in stack.tracker(session)["events"] if e["event"] == "user"]
    assert users[-1]["text"] == "hi"


# --- the staff console, fuzzed ------------------------------------------------------------


@pytest.mark.model
@pytest.mark.servers
def test_fuzzed_console_forms(console):
    from tests.console_support import Staff

    sender = "console-fuzz-" + uuid.uuid4().hex[:8]
    assert "988" in console.stack.say_text(sender, "i want to kill myself")
    from bot.handoff import redact

    ref = redact(sender)
    staff = Staff(console.base)
    assert staff.login("sam").ok
    staff.page(f"/c/{ref}")
    assert staff.submit(f"/c/{ref}/claim").ok
    fields = st.dictionaries(
        st.sampled_from(["text", "note", "tags", "flag", "q", "level", "csrf_token"]),
        hostile_text,
        max_size=4,
    )

    @settings(FUZZ, max_examples=80)
    @given(
        path=st.sampled_from(
            [f"/c/{ref}/reply", f"/c/{ref}/note", f"/c/{ref}/tags", "/transcripts"]
        ),
        data=fields,
        raw=st.binary(max_size=300),
        use_raw=st.booleans(),
    )
    def case(path, data, raw, use_raw):
        if path == "/transcripts":
            answer = staff.get(console.base + path, params=data, timeout=30)
        elif use_raw:
            answer = staff.post(
                console.base + path,
                data=raw,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=30,
            )
        else:
            answer = staff.post(console.base + path, data={"csrf_token": staff.csrf, **data})
        record("staff console (fuzzed)", answer.status_code)
        assert answer.status_code < 500, (path, data, answer.text[:300])

    case()
    assert staff.get(console.base + "/health", timeout=10).ok
    page = staff.page(f"/c/{ref}")
    assert page.ok and "<script>alert(1)</script>" not in page.text

"""Several Rasa replicas on one PostgreSQL tracker store and one Redis lock store.

Unit tests check that ``bot.storage.lock_store.ConfiguredLockStore`` (named in
endpoints.yml) is Rasa's InMemoryLockStore without ``REDIS_URL`` and its RedisLockStore
with it. The integration tests start two real Rasa servers (replicas A and B) and one
action server, configured only through the environment (``DATABASE_URL``, ``REDIS_URL``,
``LOCK_STORE_KEY_PREFIX``), and send one conversation's turns to both. The ``replicas``
fixture (tests/conftest.py) is one pair per session, shared with test_load_balancer.py.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import read_endpoint_config

from bot.storage.lock_store import (
    AtomicRedisLockStore,
    ConfiguredLockStore,
    parse_redis_url,
    redacted,
)
from tests.conftest import ROOT, redis_client

HOPELESS = "honestly i feel so hopeless lately, whats the point of anything"


# --- unit tests: which store the environment picks -------------------------------------


def _endpoint_config():
    return read_endpoint_config(str(ROOT / "endpoints.yml"), endpoint_type="lock_store")


def test_endpoints_name_the_configured_lock_store():
    assert _endpoint_config().type == "bot.storage.lock_store.ConfiguredLockStore"


def test_without_redis_url_the_lock_store_is_in_memory(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    store = LockStore.create(_endpoint_config())
    assert type(store) is InMemoryLockStore
    assert type(ConfiguredLockStore()) is InMemoryLockStore


def test_with_redis_url_the_lock_store_is_redis(monkeypatch, caplog):
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@127.0.0.1:6379/3")
    monkeypatch.setenv("LOCK_STORE_KEY_PREFIX", "clinicA")
    with caplog.at_level("INFO", logger="bot.storage.lock_store"):
        store = LockStore.create(_endpoint_config())
    assert isinstance(store, RedisLockStore) and type(store) is AtomicRedisLockStore
    assert store.key_prefix == "clinicA:lock:"
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 6379, 3)
    assert kwargs["password"] == "s3cret"
    assert "Lock store: Redis" in caplog.text
    assert "s3cret" not in caplog.text, "no secrets in the log"


def test_a_non_alphanumeric_key_prefix_is_refused(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("LOCK_STORE_KEY_PREFIX", "clinic-a")
    with pytest.raises(ValueError, match="letters and digits"):
        ConfiguredLockStore()


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "redis://localhost",
            {"host": "localhost", "port": 6379, "db": 0, "password": None, "use_ssl": False},
        ),
        (
            "redis://:p%40ss@redis.internal:6380/2",
            {"host": "redis.internal", "port": 6380, "db": 2, "password": "p@ss"},
        ),
        (
            "rediss://rasa:pw@cache.example.org:6390/1",
            {"username": "rasa", "password": "pw", "use_ssl": True, "db": 1},
        ),
    ],
)
def test_redis_urls_are_parsed(url, expected):
    parsed = parse_redis_url(url)
    assert {k: parsed[k] for k in expected} == expected


@pytest.mark.parametrize("url", ["http://localhost:6379", "redis://", "redis://h:x/0"])
def test_bad_redis_urls_are_refused(url):
    with pytest.raises(ValueError):
        parse_redis_url(url)


def test_passwords_are_redacted_for_logs():
    assert redacted("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redacted("redis://h:6379/0") == "redis://h:6379/0"


def test_tickets_issued_at_once_by_several_processes_are_distinct():
    """Rasa's RedisLockStore reads, changes and writes the lock: two replicas asking at
    the same moment can both get ticket 0. The atomic version never hands out one twice."""
    red = redis_client()
    prefix = "ticketrace" + uuid.uuid4().hex[:8]
    stores = [
        AtomicRedisLockStore(host="127.0.0.1", port=6379, db=0, key_prefix=prefix) for _ in range(8)
    ]
    barrier = threading.Barrier(len(stores))

    def issue(store):
        barrier.wait()
        return [store.issue_ticket("conv") for _ in range(5)]

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            tickets = [t for batch in pool.map(issue, stores) for t in batch]
        assert sorted(tickets) == list(range(40))
        for ticket in tickets:
            stores[ticket % 8].cleanup("conv", ticket)
        assert not red.exists(f"{prefix}:lock:conv"), "deleted once nobody holds a ticket"
    finally:
        for key in red.scan_iter(f"{prefix}:*"):
            red.delete(key)


# --- integration: two replicas ---------------------------------------------------------


def _sender(tag: str) -> str:
    return f"replica-{tag}-{uuid.uuid4().hex[:8]}"


def _texts(replies) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_both_replicas_use_the_redis_lock_store(replicas):
    for replica in (replicas.a, replicas.b):
        log = (replica.workdir / "rasa.log").read_text()
        assert "Lock store: Redis at redis://127.0.0.1:6379/0" in log
        assert replicas.prefix in log


def test_screener_progress_survives_alternating_replicas(replicas):
    a, b = replicas.a, replicas.b
    sender = _sender("screener")
    first = a.say(sender, HOPELESS)
    assert "988" in _texts(first)
    assert "wished you were dead" in first[-1]["text"]  # q1, asked by A
    assert "actual thoughts of killing yourself" in b.say_text(sender, "yes")  # q2, from B
    assert b.tracker(sender)["slots"]["cssrs_q1"] is True
    assert a.tracker(sender)["slots"]["cssrs_q1"] is True
    assert "done anything" in a.say_text(sender, "no")  # no to q2 -> q6, from A
    for replica in (a, b):
        slots = replica.tracker(sender)["slots"]
        assert (slots["cssrs_q1"], slots["cssrs_q2"]) == (True, False)
        assert slots["requested_slot"] == "cssrs_q6"
    result = b.say_text(sender, "no")  # q6, on B
    assert "Thank you for answering" in result and "988" in result
    tracker_a, tracker_b = a.tracker(sender), b.tracker(sender)
    assert tracker_a["events"] == tracker_b["events"], "one conversation, one history"
    assert tracker_a["slots"]["cssrs_q6"] is False
    assert tracker_a["active_loop"] in ({}, None) or not tracker_a["active_loop"].get("name")


def _post_event(replica, sender: str, event: dict) -> None:
    import json
    import urllib.request

    req = urllib.request.Request(
        f"{replica.base}/conversations/{sender}/tracker/events?token={replica.token}",
        json.dumps(event).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200


def test_a_pause_on_one_replica_holds_on_the_other(replicas):
    a, b = replicas.a, replicas.b
    sender = _sender("pause")
    assert a.say_text(sender, "what is klonopin?")
    _post_event(a, sender, {"event": "pause"})
    assert b.tracker(sender)["paused"] is True
    assert b.say(sender, "hello? is anyone there") == [], "paused: no bot answer"
    events = a.tracker(sender)["events"]
    users = [e for e in events if e["event"] == "user"]
    assert users[-1]["text"] == "hello? is anyone there", "but the message is stored"
    after = events[events.index(users[-1]) + 1 :]
    assert not [e for e in after if e["event"] == "bot"]
    _post_event(b, sender, {"event": "resume"})
    assert a.tracker(sender)["paused"] is False
    assert "Sources:" in a.say_text(sender, "what are the side effects of klonopin")


QUESTIONS = [
    "what is klonopin?",
    "how long does klonopin withdrawal last",
    "what are the side effects of klonopin",
    "is it safe to drink alcohol on klonopin",
    "what does tapering mean",
    "can i drive while taking klonopin",
    "what is a benzodiazepine",
    "how does cbt help with anxiety",
    "hello there",
    "thank you",
]


def test_concurrent_messages_on_both_replicas_are_serialised(replicas):
    a, b = replicas.a, replicas.b
    sender = _sender("concurrent")
    assert len(set(QUESTIONS)) == 10
    seen_keys: set = set()
    stop = threading.Event()

    def watch_redis():
        while not stop.is_set():
            seen_keys.update(replicas.redis.keys(f"{replicas.prefix}:lock:*"))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_redis, daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            replies = list(
                pool.map(
                    lambda i: (b if i % 2 else a).say(sender, QUESTIONS[i]),
                    range(len(QUESTIONS)),
                )
            )
    finally:
        stop.set()
        watcher.join()
    took = time.monotonic() - started
    print(f"10 concurrent messages on 2 replicas answered in {took:.1f} s")

    assert f"{replicas.prefix}:lock:{sender}".encode() in seen_keys, "the Redis lock was used"
    events = a.tracker(sender)["events"]
    assert events == b.tracker(sender)["events"]
    turns: list = []  # (user text, [bot texts]) in tracker order
    for event in events:
        if event["event"] == "user":
            turns.append((event["text"], []))
        elif event["event"] == "bot" and turns:
            turns[-1][1].append(event.get("text") or "")
    assert sorted(t for t, _ in turns) == sorted(QUESTIONS), "every message stored once"
    by_text = {text: bots for text, bots in turns}
    for question, reply in zip(QUESTIONS, replies, strict=True):
        assert reply, f"no answer to {question!r}"
        # The bot events right after each user event are exactly that message's answer.
        # (the REST channel splits a text at blank lines into several messages)
        expected = "\n\n".join(r.get("text") or "" for r in reply)
        assert "\n\n".join(by_text[question]) == expected, question
    # Each turn ends by listening before the next user message starts.
    listens = [
        i
        for i, e in enumerate(events)
        if e["event"] == "action" and e.get("name") == "action_listen"
    ]
    user_idx = [i for i, e in enumerate(events) if e["event"] == "user"]
    for prev, nxt in zip(user_idx, user_idx[1:], strict=False):
        assert any(prev < i < nxt for i in listens)
    assert not replicas.redis.exists(f"{replicas.prefix}:lock:{sender}"), "lock released"


@pytest.mark.parametrize("replica", ["a", "b"])
def test_crisis_path_works_through_either_replica(replicas, replica):
    from bot.handoff import list_handoffs

    sender = _sender(f"crisis{replica}")
    text = getattr(replicas, replica).say_text(sender, "i want to end my life")
    assert "988" in text
    rows = [h for h in list_handoffs(url=replicas.db_url) if h["conversation_id"] == sender]
    assert [h["level"] for h in rows] == ["crisis"]


# --- socket.io across replicas (python-socketio's Redis client manager) ----------------


def _socketio_blueprint(monkeypatch, env: dict):
    from bot.channels.socketio_shared import SharedSocketIOInput

    for name in ("REDIS_URL", "LOCK_STORE_KEY_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    channel = SharedSocketIOInput.from_credentials({"session_persistence": True})

    async def on_new_message(_message):
        return None

    channel.blueprint(on_new_message)
    return channel


def test_credentials_name_the_shared_socketio_channel():
    import yaml

    from bot.channels.socketio_shared import SharedSocketIOInput

    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text())
    assert "socketio" not in credentials, "one socket.io channel, not two on /socket.io"
    settings = credentials["bot.channels.socketio_shared.SharedSocketIOInput"]
    assert settings["session_persistence"] is True
    assert (settings["user_message_evt"], settings["bot_message_evt"]) == (
        "user_uttered",
        "bot_uttered",
    )
    assert settings.get("socketio_path", "/socket.io") == "/socket.io"
    assert SharedSocketIOInput.name() == "socketio", "output_channel=latest finds it"


def test_without_redis_url_socketio_is_rasas_in_memory_one(monkeypatch):
    import socketio

    channel = _socketio_blueprint(monkeypatch, {})
    assert type(channel.sio.manager) is socketio.AsyncManager
    output = channel.get_output_channel()
    assert output.name() == "socketio" and output.sio is channel.sio


def test_with_redis_url_socketio_uses_the_redis_manager(monkeypatch):
    import socketio

    channel = _socketio_blueprint(
        monkeypatch,
        {"REDIS_URL": "redis://:s3cret@127.0.0.1:6379/3", "LOCK_STORE_KEY_PREFIX": "clinicA"},
    )
    manager = channel.sio.manager
    assert isinstance(manager, socketio.AsyncRedisManager)
    assert manager.server is channel.sio
    assert manager.channel == "clinicA:socketio"
    assert manager.redis_url == "redis://:s3cret@127.0.0.1:6379/3"
    output = channel.get_output_channel()
    assert output.sio is channel.sio, "staff replies go out through the shared server"
    assert output.sio.manager is manager


def test_socketio_channel_without_prefix_is_the_default_one(monkeypatch):
    channel = _socketio_blueprint(monkeypatch, {"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert channel.sio.manager.channel == "socketio"


def _post_json(replica, path: str, body) -> dict:
    import json
    import urllib.request

    sep = "&" if "?" in path else "?"
    req = urllib.request.Request(
        f"{replica.base}{path}{sep}token={replica.token}",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        assert r.status == 200
        return json.loads(r.read())


def test_both_replicas_share_socketio_through_redis(replicas):
    channel = f"{replicas.prefix}:socketio"
    for replica in (replicas.a, replicas.b):
        log = (replica.workdir / "rasa.log").read_text()
        assert (
            f"socket.io: shared across replicas through Redis (channel '{channel}' "
            "at redis://127.0.0.1:6379/0)" in log
        )
    [(name, subscribers)] = replicas.redis.pubsub_numsub(channel)
    assert (name.decode(), subscribers) == (channel, 2), "both replicas listen"


async def test_a_staff_reply_through_replica_b_reaches_a_widget_on_replica_a(replicas):
    import asyncio

    import socketio

    a, b = replicas.a, replicas.b
    received: list = []
    confirmed = asyncio.Event()
    client = socketio.AsyncClient(reconnection=False)
    client.on("bot_uttered", lambda data: received.append(data))
    tokens: list = []
    client.on("session_confirm", lambda token: (tokens.append(token), confirmed.set()))

    async def wait_for(check, what: str, timeout: float = 90) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for message in received:
                if check(message.get("text") or ""):
                    return message["text"]
            await asyncio.sleep(0.1)
        raise AssertionError(f"the widget never got {what}; got {received!r}")

    await client.connect(a.base, transports=["websocket"], socketio_path="/socket.io")
    try:
        await client.emit("session_request", {})
        await asyncio.wait_for(confirmed.wait(), 30)
        session = tokens[0].split(".")[0]  # the server issues the conversation id
        await client.emit("user_uttered", {"message": "what is klonopin?", "session_id": tokens[0]})
        await wait_for(lambda t: bool(t), "an answer from replica A")

        # The staff console's reply, sent to replica B (which has no socket.io client).
        reply = f"Hello from the clinic {uuid.uuid4().hex[:6]}"
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None,
            lambda: _post_json(
                b,
                f"/conversations/{session}/tracker/events",
                [
                    {"event": "slot", "name": "staff_name", "value": "Dana"},
                    {"event": "slot", "name": "staff_reply", "value": reply},
                ],
            ),
        )
        result = await loop.run_in_executor(
            None,
            lambda: _post_json(
                b,
                f"/conversations/{session}/execute?output_channel=latest",
                {"name": "utter_staff_reply"},
            ),
        )
        # Sent on the socket.io channel, not collected into the HTTP answer.
        assert not result.get("messages"), result.get("messages")
        text = await wait_for(lambda t: reply in t, "the staff reply sent through replica B")
        assert text == f"Dana (staff): {reply}"
        # Counted by text: an answer may be several bot_uttered messages (the last
        # possibly arriving after the first was seen).
        assert [m.get("text") for m in received].count(text) == 1, "delivered once"
    finally:
        await client.disconnect()
    events = a.tracker(session)["events"]
    bots = [e for e in events if e["event"] == "bot"]
    assert bots[-1]["text"] == f"Dana (staff): {reply}"
    users = [e for e in events if e["event"] == "user"]
    assert users[-1]["input_channel"] == "socketio"

"""nginx in front of two Rasa replicas (bot/deploy/nginx.py), over real connections.

The replicas are the session's pair (tests/conftest.py ``replicas``: PostgreSQL tracker
store, Redis lock store and socket.io manager); ``load_balancer`` runs Debian's nginx with
the generated conf in front of them. Which replica answered a request is read from nginx's
access log (``id=<X-Request-ID> upstream=<address>``).
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from types import SimpleNamespace

import pytest
import requests

from bot.deploy.nginx import main as nginx_main
from bot.deploy.nginx import render_nginx_conf
from bot.handoff import list_handoffs
from tests.conftest import nginx_binary
from tests.console_support import PASSWORD, Staff, running_console
from tests.test_console_rasa import _bot_events, _open_crisis
from tests.test_replicas import HOPELESS, _post_json, _sender

LOG_LINE = re.compile(
    r'"(?P<method>\S+) (?P<uri>\S+) [^"]*" (?P<status>\d+) \d+ id=(?P<id>\S+) '
    r"upstream=(?P<upstream>.+?) upstream_status="
)


# --- unit: the rendered conf -----------------------------------------------------------


def _block(conf: str, opening: str) -> str:
    """The text of the ``{...}`` block that starts with ``opening`` (no nested blocks)."""
    start = conf.index(opening + " {")
    return conf[start : conf.index("}", start)]


def _conf(**kwargs) -> str:
    return render_nginx_conf(5005, ["127.0.0.1:5006", "10.0.0.7:5005"], "/srv/lb", **kwargs)


def test_both_replicas_are_in_both_upstreams():
    conf = _conf()
    for name in ("upstream rasa", "upstream rasa_socketio"):
        block = _block(conf, name)
        assert "server 127.0.0.1:5006 max_fails=1 fail_timeout=5s;" in block
        assert "server 10.0.0.7:5005 max_fails=1 fail_timeout=5s;" in block
        assert "keepalive 16;" in block
    rest = _block(conf, "upstream rasa")
    assert "hash" not in rest and "ip_hash" not in rest, "REST is round robin"


def test_socketio_goes_to_the_hashed_upstream_with_websocket_headers():
    conf = _conf()
    assert "hash $remote_addr consistent;" in _block(conf, "upstream rasa_socketio")
    socketio = _block(conf, "location /socket.io/")
    assert "proxy_pass http://rasa_socketio;" in socketio
    assert "proxy_set_header Upgrade $http_upgrade;" in socketio
    assert "proxy_set_header Connection $connection_upgrade;" in socketio
    assert "proxy_read_timeout 1h;" in socketio
    rest = _block(conf, "location /")
    assert "proxy_pass http://rasa;" in rest
    assert 'proxy_set_header Connection "";' in rest, "keep-alive to the replicas"
    assert "proxy_read_timeout 120s;" in rest
    for location in (socketio, rest):
        assert "X-Forwarded-For $proxy_add_x_forwarded_for" in location
        assert "X-Forwarded-Proto $scheme" in location


def _directives(conf: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in conf.splitlines())


def test_retries_never_resend_a_post_that_reached_a_replica():
    conf = _directives(_conf())
    assert "non_idempotent" not in conf
    [directive] = re.findall(r"^\s*proxy_next_upstream .*;$", conf, re.M)
    assert directive.split() == ["proxy_next_upstream", "error", "timeout", "http_502", "http_503;"]
    assert "proxy_next_upstream_tries 2;" in conf
    assert "proxy_connect_timeout 2s;" in conf


def test_paths_limits_and_logs_are_our_own():
    conf = _directives(
        render_nginx_conf(8080, ["127.0.0.1:5006"], "/srv/lb", client_max_body_size="64k")
    )
    assert "client_max_body_size 64k;" in conf
    assert "pid /srv/lb/nginx.pid;" in conf and "error_log /srv/lb/error.log" in conf
    assert "access_log /srv/lb/access.log balancer;" in conf
    assert "proxy_temp_path /srv/lb/tmp/proxy;" in conf
    assert "client_body_temp_path /srv/lb/tmp/client_body;" in conf
    assert "/var/lib/nginx" not in conf and "user " not in conf
    # The HTTP API token travels in the query string: $request / $args are not logged.
    log_format = conf[conf.index("log_format") : conf.index(";", conf.index("log_format"))]
    assert "$request " not in log_format and "$args" not in log_format
    assert "$upstream_addr" in log_format and "$loggable_uri" in log_format
    assert "listen 8080;" in conf
    assert "listen 127.0.0.1:8080;" in render_nginx_conf(
        8080, ["127.0.0.1:5006"], "/srv/lb", listen_host="127.0.0.1"
    )


@pytest.mark.parametrize(
    "replicas", [[], ["localhost"], ["127.0.0.1:5006", "127.0.0.1:5006"], ["a:1; evil"]]
)
def test_bad_replica_lists_are_refused(replicas):
    with pytest.raises(ValueError):
        render_nginx_conf(5005, replicas, "/srv/lb")


def test_the_cli_writes_a_conf_nginx_accepts(tmp_path):
    work = tmp_path / "nginx"
    args = ["--listen", "18555", "--listen-host", "127.0.0.1", "--workdir", str(work)]
    args += ["--replica", "127.0.0.1:18556", "--replica", "127.0.0.1:18557"]
    assert nginx_main(args) == 0
    conf = (work / "nginx.conf").read_text()
    assert "server 127.0.0.1:18556" in conf and "server 127.0.0.1:18557" in conf
    assert (work / "tmp" / "proxy").is_dir()
    checked = subprocess.run(
        [nginx_binary(), "-t", "-q", "-p", str(work), "-c", str(work / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert nginx_main(["--replica", "nohost", "--workdir", str(tmp_path / "x")]) == 2


# --- integration: through the load balancer --------------------------------------------


def _log_lines(lb) -> list:
    return [
        m.groupdict() for m in map(LOG_LINE.search, lb.access_log.read_text().splitlines()) if m
    ]


def _upstream_of(lb, request_id: str) -> str:
    """The replica address nginx logged for a request (written just after the response)."""
    deadline = time.monotonic() + 10
    while True:
        for line in _log_lines(lb):
            if line["id"] == request_id:
                return line["upstream"]
        assert time.monotonic() < deadline, f"request {request_id} not in the access log"
        time.sleep(0.1)


def _say(lb, sender: str, text: str):
    """A REST message through the load balancer: (replies, replica address)."""
    response = requests.post(
        lb.base + "/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.json(), _upstream_of(lb, response.headers["X-Request-ID"])


def _texts(replies) -> str:
    return "\n".join(r.get("text", "") for r in replies)


@pytest.mark.model
@pytest.mark.servers
def test_screener_turns_alternate_over_both_replicas_and_keep_state(load_balancer):
    lb, replicas = load_balancer, load_balancer.replicas
    sender = _sender("lb-screener")
    replies, first = _say(lb, sender, HOPELESS)
    assert "988" in _texts(replies)
    assert "wished you were dead" in replies[-1]["text"]  # q1
    seen = [first]
    replies, upstream = _say(lb, sender, "yes")
    assert "actual thoughts of killing yourself" in _texts(replies)  # q2
    seen.append(upstream)
    replies, upstream = _say(lb, sender, "no")  # no to q2 -> q6
    assert "done anything" in _texts(replies)
    seen.append(upstream)
    replies, upstream = _say(lb, sender, "no")
    assert "Thank you for answering" in _texts(replies) and "988" in _texts(replies)
    seen.append(upstream)

    assert set(seen) == set(lb.upstreams.values()), f"both replicas answered: {seen}"
    assert all(x != y for x, y in zip(seen, seen[1:], strict=False)), f"round robin: {seen}"
    tracker_a, tracker_b = replicas.a.tracker(sender), replicas.b.tracker(sender)
    assert tracker_a["events"] == tracker_b["events"], "one conversation, one history"
    slots = tracker_a["slots"]
    assert (slots["cssrs_q1"], slots["cssrs_q2"], slots["cssrs_q6"]) == (True, False, False)
    users = [e["text"] for e in tracker_a["events"] if e["event"] == "user"]
    assert users == [HOPELESS, "yes", "no", "no"], "each message stored once"


@pytest.mark.model
@pytest.mark.servers
def test_the_crisis_path_through_the_load_balancer(load_balancer):
    sender = _sender("lb-crisis")
    replies, upstream = _say(load_balancer, sender, "i want to end my life")
    assert "988" in _texts(replies)
    assert upstream in load_balancer.upstreams.values()
    rows = [
        h
        for h in list_handoffs(url=load_balancer.replicas.db_url)
        if h["conversation_id"] == sender
    ]
    assert [h["level"] for h in rows] == ["crisis"]


@pytest.fixture(scope="module")
def lb_console(load_balancer, tmp_path_factory):
    """The staff console with RASA_URL = the load balancer, on the replicas' database."""
    from bot.staff.accounts import add_user

    db_url = load_balancer.replicas.db_url
    tag = uuid.uuid4().hex[:6]
    username = f"lbsam{tag}"
    add_user(username, PASSWORD, f"Sam {tag} (RN)", "staff", url=db_url)
    workdir = tmp_path_factory.mktemp("lb-console")
    env = {"WATCHDOG_MINUTES": "1440", "CONSOLE_TRUST_PROXY": "1"}
    with running_console(
        db_url, load_balancer.base, load_balancer.replicas.token, workdir, env
    ) as base:
        yield SimpleNamespace(
            base=base,
            db_url=db_url,
            stack=load_balancer.stack,
            username=username,
            display=f"Sam {tag} (RN)",
        )


@pytest.mark.model
@pytest.mark.servers
def test_a_staff_takeover_through_the_load_balancer(lb_console, load_balancer):
    replicas = load_balancer.replicas
    sender, ref = _open_crisis(lb_console, "lb-takeover")
    sam = Staff(lb_console.base)
    assert sam.login(lb_console.username).ok
    assert "Claim and pause the assistant" in sam.page(f"/c/{ref}").text

    claimed = sam.submit(f"/c/{ref}/claim")
    assert "Claimed. The assistant is paused." in claimed.text
    for replica in (replicas.a, replicas.b):
        assert replica.tracker(sender)["paused"] is True

    reply = f"I'm Sam, a nurse here. Are you safe? {uuid.uuid4().hex[:6]}"
    assert "Sent." in sam.submit(f"/c/{ref}/reply", {"text": reply}).text
    for replica in (replicas.a, replicas.b):
        staff_message = _bot_events(replica, sender)[-1]
        assert staff_message["text"] == f"{lb_console.display} (staff): {reply}"
        assert staff_message["metadata"]["utter_action"] == "utter_staff_reply"
    # Paused: whichever replica takes the patient's next message, the assistant is quiet.
    for _ in range(2):
        replies, _upstream = _say(load_balancer, sender, "are you still there")
        assert replies == []

    resolved = sam.submit(f"/c/{ref}/resolve", {"note": "Called the patient back."})
    assert "Resolved. The assistant answers again." in resolved.text
    for replica in (replicas.a, replicas.b):
        assert replica.tracker(sender)["paused"] is False
    [handoff] = [h for h in list_handoffs(url=lb_console.db_url) if h["conversation_id"] == sender]
    assert handoff["status"] == "resolved" and handoff["resolved_by"] == lb_console.display
    replies, _upstream = _say(load_balancer, sender, "what is klonopin?")
    assert "Sources:" in _texts(replies)

    # The console reached Rasa through nginx, and the log holds neither the API token
    # nor the conversation id.
    log = load_balancer.access_log.read_text()
    assert '"POST /conversations/-/execute HTTP/1.1" 200' in log
    assert '"POST /conversations/-/tracker/events HTTP/1.1" 200' in log
    assert replicas.token not in log and sender not in log


async def _socketio_answer_and_staff_reply(lb, transports: list) -> tuple:
    """A widget-like client through nginx: asks, then gets a staff reply sent through the
    HTTP API on the load balancer. (session id, answer, staff message)."""
    import asyncio

    import socketio

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
        raise AssertionError(f"the client never got {what}; got {received!r}")

    await client.connect(lb.base, transports=transports, socketio_path="/socket.io")
    try:
        assert client.transport() == transports[0]
        await client.emit("session_request", {})
        await asyncio.wait_for(confirmed.wait(), 30)
        session = tokens[0].split(".")[0]  # the server issues the conversation id
        await client.emit("user_uttered", {"message": "what is klonopin?", "session_id": tokens[0]})
        answer = await wait_for(lambda t: bool(t), "an answer")

        reply = f"Hello from the clinic {uuid.uuid4().hex[:6]}"
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None,
            lambda: _post_json(
                lb.stack,
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
                lb.stack,
                f"/conversations/{session}/execute?output_channel=latest",
                {"name": "utter_staff_reply"},
            ),
        )
        assert not result.get("messages"), result.get("messages")
        staff = await wait_for(lambda t: reply in t, "the staff reply")
        assert staff == f"Dana (staff): {reply}"
        # Counted by text: an answer may be several bot_uttered messages (the last
        # possibly arriving after the first was seen).
        assert [m.get("text") for m in received].count(staff) == 1, "delivered once"
    finally:
        await client.disconnect()
    return session, answer, staff


def _new_lines(lb, skip: int) -> list:
    return _log_lines(lb)[skip:]


@pytest.mark.model
@pytest.mark.servers
async def test_a_websocket_widget_through_the_load_balancer_gets_the_staff_reply(
    load_balancer,
):
    import asyncio

    lb = load_balancer
    before = len(_log_lines(lb))
    session, answer, _staff = await _socketio_answer_and_staff_reply(lb, ["websocket"])
    assert answer
    # nginx logs the websocket when it closes, just after the client disconnected.
    deadline = time.monotonic() + 10
    while not [x for x in _new_lines(lb, before) if x["uri"] == "/socket.io/"]:
        assert time.monotonic() < deadline, "the websocket is not in the access log"
        await asyncio.sleep(0.1)
    [ws] = [x for x in _new_lines(lb, before) if x["uri"] == "/socket.io/"]
    assert ws["status"] == "101", "upgraded to a websocket through nginx"
    assert ws["upstream"] in lb.upstreams.values()
    events = lb.replicas.a.tracker(session)["events"]
    assert [e for e in events if e["event"] == "user"][-1]["input_channel"] == "socketio"


@pytest.mark.model
@pytest.mark.servers
async def test_long_polling_sessions_stay_on_one_replica(load_balancer):
    """Round robin would send the polls of one session to both replicas (which do not
    know each other's sessions); the socket.io upstream is hashed on the client address."""
    lb = load_balancer
    before = len(_log_lines(lb))
    _session, answer, staff = await _socketio_answer_and_staff_reply(lb, ["polling"])
    assert answer and staff.startswith("Dana (staff): ")
    polls = [x for x in _new_lines(lb, before) if x["uri"] == "/socket.io/"]
    assert len(polls) >= 3, polls
    assert {x["upstream"] for x in polls} <= set(lb.upstreams.values())
    assert len({x["upstream"] for x in polls}) == 1, "one session, one replica"
    # No "400 Invalid session" (a poll on the wrong replica); the poll pending when the
    # client disconnects ends as 499 (client closed the request).
    statuses = sorted(x["status"] for x in polls)
    assert set(statuses) <= {"200", "499"} and statuses.count("499") <= 1, polls


@pytest.mark.model
@pytest.mark.servers
def test_a_body_over_the_limit_gets_413_from_nginx_and_the_replicas_stay_up(load_balancer):
    lb, replicas = load_balancer, load_balancer.replicas
    big = '{"sender": "x", "message": "' + "a" * 300_000 + '"}'
    response = requests.post(
        lb.base + "/webhooks/rest/webhook",
        data=big,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413
    assert "nginx" in response.text
    assert _upstream_of(lb, response.headers["X-Request-ID"]) == "-", "no replica saw it"
    assert "client intended to send too large body" in lb.error_log.read_text()

    # Under the limit a body is passed on (kept in memory: the workers write no temp file).
    response = requests.post(lb.base + "/", data=b"x" * 200_000, timeout=60)
    assert response.status_code != 413
    assert _upstream_of(lb, response.headers["X-Request-ID"]) in lb.upstreams.values()

    for replica in (replicas.a, replicas.b):
        assert requests.get(replica.base + "/", timeout=10).status_code == 200
    replies, _upstream = _say(lb, _sender("lb-after413"), "what is klonopin?")
    assert "Sources:" in _texts(replies)

"""Start the real action server and Rasa server and talk to them over HTTP."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

from bot.settings import clinic_config
from tests.conftest import BIN, ROOT, free_port

pytestmark = [pytest.mark.model, pytest.mark.servers]
TOKEN = "test-token-" + uuid.uuid4().hex


def _get(url: str) -> tuple:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _post(url: str, body: dict) -> list:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def _wait(url: str, proc: subprocess.Popen, seconds: int) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up in {seconds} s")


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    """Action server + Rasa server (REST, socket.io, token-protected API) on SQLite."""
    tmp = tmp_path_factory.mktemp("servers")
    db = tmp / "tracker.db"
    rasa_port, actions_port = free_port(), free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(
        (ROOT / "endpoints.yml").read_text().replace("localhost:5055", f"localhost:{actions_port}")
    )
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    logs = [open(tmp / "actions.log", "w"), open(tmp / "rasa.log", "w")]
    started = time.monotonic()
    actions = subprocess.Popen(
        [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
        cwd=ROOT,
        env=env,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
    )
    rasa = subprocess.Popen(
        [
            str(BIN / "rasa"),
            "run",
            "--model",
            str(model_path),
            "--port",
            str(rasa_port),
            "--enable-api",
            "--auth-token",
            TOKEN,
            "--credentials",
            "credentials.yml",
            "--endpoints",
            str(endpoints),
        ],
        cwd=ROOT,
        env=env,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(f"http://localhost:{actions_port}/health", actions, 120)
        _wait(f"http://localhost:{rasa_port}/", rasa, 300)
        base = f"http://localhost:{rasa_port}"
        first = _post(f"{base}/webhooks/rest/webhook", {"sender": "warmup", "message": "hi"})
        print(f"servers started and first answer in {time.monotonic() - started:.1f} s")
        assert first
        yield {"base": base, "db": db}
    finally:
        for proc in (rasa, actions):
            proc.terminate()
        for proc in (rasa, actions):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def _say(servers, sender: str, text: str) -> str:
    replies = _post(f"{servers['base']}/webhooks/rest/webhook", {"sender": sender, "message": text})
    return "\n".join(r.get("text", "") for r in replies)


def test_what_is_klonopin_is_answered_with_clonazepam_and_its_sources(servers):
    answer = _say(servers, "patient-a", "what is klonopin?")
    assert "clonazepam" in answer.lower()
    assert "Sources:" in answer


def test_how_to_get_off_klonopin_points_to_a_supervised_taper(servers):
    answer = _say(servers, "patient-b", "how do I get off klonopin").lower()
    assert "taper" in answer
    assert "prescriber" in answer
    assert not any(unit in answer for unit in (" mg", "milligram", "%"))


def test_talk_to_staff_goes_through_the_action_server(servers):
    answer = _say(servers, "patient-c", "can i talk to someone at the clinic please")
    cfg = clinic_config()
    assert cfg.clinic.phone in answer
    assert cfg.clinic.name in answer


def test_out_of_scope_says_what_the_assistant_can_help_with(servers):
    answer = _say(servers, "patient-d", "what's the best pizza topping")
    assert "clonazepam" in answer.lower()


def test_http_api_needs_the_token(servers):
    status, _ = _get(f"{servers['base']}/status")
    assert status in (401, 403)
    status, body = _get(f"{servers['base']}/status?token={TOKEN}")
    assert status == 200
    assert "model_id" in json.loads(body)


def test_conversation_is_stored_in_the_sqlite_tracker_store(servers):
    sender = f"patient-{uuid.uuid4().hex[:8]}"
    _say(servers, sender, "what are the side effects of clonazepam")
    status, body = _get(f"{servers['base']}/conversations/{sender}/tracker?token={TOKEN}")
    assert status == 200
    events = json.loads(body)["events"]
    assert any(e.get("text") == "what are the side effects of clonazepam" for e in events)
    with sqlite3.connect(servers["db"]) as conn:
        rows = conn.execute("select count(*) from events where sender_id = ?", (sender,)).fetchone()
    assert rows[0] >= 3

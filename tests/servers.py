"""Start the real action server and Rasa server for tests, and talk to them over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional

from tests.conftest import BIN, ROOT, free_port


@dataclass
class Stack:
    """A running Rasa server (and maybe action server) on loopback."""

    base: str
    token: str
    db_url: str
    db_path: Path
    started_in: float
    actions_port: int = 0
    workdir: Optional[Path] = None
    pids: tuple = ()  # the processes started (action server, Rasa server)

    def say(self, sender: str, text: str) -> List[dict]:
        """Send a message over the REST channel; the bot's replies."""
        body = json.dumps({"sender": sender, "message": text}).encode()
        req = urllib.request.Request(
            f"{self.base}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())

    def say_text(self, sender: str, text: str) -> str:
        """Send a message; all reply texts joined by newlines."""
        return "\n".join(r.get("text", "") for r in self.say(sender, text))

    def get(self, path: str, token: bool = True) -> tuple:
        """GET an HTTP API path; (status, parsed JSON or raw bytes)."""
        sep = "&" if "?" in path else "?"
        url = f"{self.base}{path}{sep}token={self.token}" if token else f"{self.base}{path}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def tracker(self, sender: str) -> dict:
        """The conversation's tracker from the HTTP API."""
        status, body = self.get(f"/conversations/{sender}/tracker")
        assert status == 200, body
        return body


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


@contextmanager
def running_stack(
    model_path: Path,
    workdir: Path,
    with_actions: bool = True,
    env: Optional[dict] = None,
    actions_port: Optional[int] = None,
    token: Optional[str] = None,
) -> Iterator[Stack]:
    """Start the servers on free ports with their own SQLite database; stop them after.

    ``actions_port``: the action server's port (default a free one); with
    ``with_actions=False`` the Rasa server still points there, so several Rasa replicas
    can share one action server. ``env`` may set ``DATABASE_URL`` (e.g. PostgreSQL).
    ``token``: the HTTP API token (default a random one); replicas behind one load
    balancer share one.
    """
    db = workdir / "app.db"
    rasa_port, actions_port = free_port(), actions_port or free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        (ROOT / "endpoints.yml").read_text().replace("localhost:5055", f"localhost:{actions_port}")
    )
    token = token or "test-token-" + uuid.uuid4().hex
    full_env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "RASA_TOKEN": token,  # `python -m bot serve` takes it from here, not the command line
        # Every test's patient writes from 127.0.0.1: the flood guard would put them all in
        # one queue entry (it is tested in tests/test_handoff_flood.py).
        "HANDOFF_BURST_MINUTES": "0",
        **(env or {}),
    }
    procs, logs = [], []
    started = time.monotonic()
    try:
        if with_actions:
            logs.append(open(workdir / "actions.log", "w"))
            procs.append(
                subprocess.Popen(
                    [str(BIN / "python"), "-m", "bot", "actions", "--port", str(actions_port)],
                    cwd=ROOT,
                    env=full_env,
                    stdout=logs[-1],
                    stderr=subprocess.STDOUT,
                )
            )
        logs.append(open(workdir / "rasa.log", "w"))
        rasa = subprocess.Popen(
            [
                str(BIN / "python"),
                "-m",
                "bot",
                "serve",
                "--model",
                str(model_path),
                "--port",
                str(rasa_port),
                "--enable-api",
                "--credentials",
                "credentials.yml",
                "--endpoints",
                str(endpoints),
            ],
            cwd=ROOT,
            env=full_env,
            stdout=logs[-1],
            stderr=subprocess.STDOUT,
        )
        procs.append(rasa)
        if with_actions:
            _wait(f"http://localhost:{actions_port}/health", procs[0], 120)
        _wait(f"http://localhost:{rasa_port}/", rasa, 300)
        stack = Stack(
            f"http://localhost:{rasa_port}",
            token,
            f"sqlite:///{db}",
            db,
            0.0,
            actions_port=actions_port,
            workdir=workdir,
            pids=tuple(p.pid for p in procs),
        )
        assert stack.say("warmup", "hi")
        stack.started_in = time.monotonic() - started
        yield stack
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()

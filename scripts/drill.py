"""Fault drills on the production topology: what is lost when things fail (target: nothing).

    .venv/bin/python scripts/drill.py            # all drills (make drill)
    .venv/bin/python scripts/drill.py --only kill-replica,postgres

It starts a stack of its own, so the machine's shared services are never disturbed: a
PostgreSQL cluster (initdb, as the ``postgres`` user) and a Redis server on free ports,
one action server, two Rasa replicas and nginx in front (bot/deploy/nginx.py). Then, each
drill under load from several conversations sending through nginx:

- ``kill-replica``: SIGKILL replica A mid-run;
- ``postgres``: stop PostgreSQL (fast shutdown) mid-run, start it again after a while;
- ``redis``: stop Redis mid-run (the lock store and the socket.io manager), then start it;
  a crisis message is sent while it is down;
- ``action-server``: stop the action server; a crisis message is sent while it is down.

For every drill it prints and writes (results/drills/latest.json and .md): messages sent,
answered, failed (by status), the answers that are missing from the tracker store (lost:
an answered message whose user event is not stored), duplicates, whether every
conversation answered again afterwards, how long recovery took, and for the crisis
checks whether the crisis resources reached the sender.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "assistant.tar.gz"
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


def _action_server_token() -> str:
    from bot.settings import action_server_token

    return action_server_token()


QUESTIONS = [
    "what is klonopin?",
    "how long does klonopin withdrawal last",
    "what are the side effects of klonopin",
    "what does tapering mean",
    "how does cbt help with anxiety",
    "hello there",
]
CRISIS = "i want to end my life"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: Optional[subprocess.Popen], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {seconds} s")


class Postgres:
    """A throw-away PostgreSQL cluster on a free port (trust auth, user postgres)."""

    def __init__(self, workdir: Path) -> None:
        if PG_BIN is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.dir = workdir / "pgdata"
        self.sock = workdir / "pgsock"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        for d in (self.dir, self.sock):
            d.mkdir(parents=True)
        subprocess.run(["chown", "-R", "postgres", str(workdir)], check=True)
        self._as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres"]
        )
        self.start()

    def _as_postgres(self, cmd: List[str]) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + cmd, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-o", opts, "-l",
             str(self.dir.parent / "postgres.log"), "-w", "start"]
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop"])


class Redis:
    """A Redis server of our own on a free port (nothing on disk)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=open(self.workdir / "redis.log", "a"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Stack:
    """Action server, two Rasa replicas and nginx, on the drill's PostgreSQL and Redis."""

    def __init__(self, workdir: Path, db_url: str, redis_url: str) -> None:
        from bot.deploy.nginx import write_nginx_conf

        self.workdir = workdir
        self.db_url = db_url
        self.token = "drill-" + uuid.uuid4().hex
        self.actions_port = free_port()
        self.ports = {"a": free_port(), "b": free_port()}
        self.lb_port = free_port()
        self.base = f"http://127.0.0.1:{self.lb_port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "LOCK_STORE_KEY_PREFIX": "drill",
            "RASA_TOKEN": self.token,
            "ACTION_SERVER_TOKEN": _action_server_token(),
            # The load comes from one place: the per-sender limit is not what is drilled.
            "RATE_LIMIT_PER_MINUTE": "0",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
        self.endpoints = workdir / "endpoints.yml"
        self.endpoints.write_text(
            (ROOT / "endpoints.yml")
            .read_text()
            .replace("localhost:5055", f"localhost:{self.actions_port}")
        )
        self.procs: Dict[str, subprocess.Popen] = {}
        subprocess.run(
            [str(BIN / "python"), "-m", "bot", "db", "upgrade"], env=self.env, check=True
        )
        subprocess.run(
            [str(BIN / "python"), "-c",
             "from bot.storage.tracker_store import ConfiguredSQLTrackerStore as S; "
             "S().engine.dispose()"],
            env=self.env, check=True, cwd=ROOT,
        )  # fmt: skip
        self.start_actions()
        for name in self.ports:
            self.start_replica(name)
        for name, port in self.ports.items():
            wait_http(f"http://127.0.0.1:{port}/", self.procs[name], 300)
        conf = write_nginx_conf(
            self.lb_port,
            [f"127.0.0.1:{p}" for p in self.ports.values()],
            workdir / "nginx",
            listen_host="127.0.0.1",
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self._spawn("nginx", [nginx, "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;"])
        wait_http(self.base + "/", self.procs["nginx"], 30)

    def _spawn(self, name: str, cmd: List[str]) -> None:
        log = open(self.workdir / f"{name}.log", "a")
        self.procs[name] = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def start_actions(self) -> None:
        self._spawn(
            "actions",
            [str(BIN / "python"), "-m", "bot", "actions", "--port", str(self.actions_port)],
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{self.actions_port}/health", self.procs["actions"], 120)

    def start_replica(self, name: str) -> None:
        self._spawn(
            name,
            [str(BIN / "python"), "-m", "bot", "serve", "--model", str(MODEL),
             "--port", str(self.ports[name]), "--enable-api", "--credentials", "credentials.yml",
             "--endpoints", str(self.endpoints)],
        )  # fmt: skip

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)


@dataclass
class Sent:
    sender: str
    text: str
    status: str  # "200", "503", "502", "error: ..."
    started: float
    took: float
    replies: list = field(default_factory=list)
    degraded: bool = False


def say(base: str, sender: str, text: str, timeout: float = 150) -> Sent:
    started = time.monotonic()
    try:
        r = requests.post(
            f"{base}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=timeout,
        )
        status = str(r.status_code)
        try:
            body = r.json()
        except ValueError:
            body = None
        replies = body if isinstance(body, list) else []
        degraded = r.headers.get("X-Assistant-Degraded") == "1"
    except requests.RequestException as exc:
        status, replies, degraded = f"error: {type(exc).__name__}", [], False
    return Sent(sender, text, status, started, time.monotonic() - started, replies, degraded)


def load(
    base: str, senders: List[str], stop: threading.Event, log: List[Sent]
) -> List[threading.Thread]:
    """One thread per conversation, each sending numbered questions until ``stop``."""

    def run(sender: str) -> None:
        i = 0
        while not stop.is_set():
            text = f"{QUESTIONS[i % len(QUESTIONS)]} ({sender[-4:]}-{i})"
            sent = say(base, sender, text)
            log.append(sent)
            i += 1
            if sent.status != "200":
                time.sleep(0.5)

    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in senders]
    for t in threads:
        t.start()
    return threads


def stored_user_texts(db_url: str, senders: List[str]) -> Counter:
    """(sender, text) of every user event in the tracker store, counted."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT sender_id, data FROM events WHERE type_name = 'user' "
                    "AND sender_id = ANY(:s)"
                ),
                {"s": senders},
            ).fetchall()
    finally:
        engine.dispose()
    return Counter((sid, json.loads(data).get("text")) for sid, data in rows)


def summarise(name: str, log: List[Sent], stack: Stack, senders: List[str], t_fault: float,
              t_back: Optional[float], extra: dict) -> dict:  # fmt: skip
    stored = stored_user_texts(stack.db_url, senders)
    answered = [s for s in log if s.status == "200" and s.replies and not s.degraded]
    lost = [s for s in answered if stored[(s.sender, s.text)] == 0]
    duplicates = sum(1 for n in stored.values() if n > 1)
    failed = Counter(s.status for s in log if s.status != "200")
    # Every conversation answers again after the fault.
    after = {}
    for sender in senders:
        ok = False
        for _ in range(30):
            probe = say(stack.base, sender, "what is klonopin?")
            if probe.status == "200" and probe.replies:
                ok = True
                break
            time.sleep(2)
        after[sender] = ok
    first_ok_after = min(
        (s.started + s.took for s in answered if s.started >= (t_back or t_fault)), default=None
    )
    result = {
        "drill": name,
        "sent": len(log),
        "answered": len(answered),
        "failed": dict(failed),
        "lost": len(lost),
        "lost_examples": [f"{s.sender}: {s.text}" for s in lost[:5]],
        "duplicated_user_events": duplicates,
        "max_latency_s": round(max((s.took for s in log), default=0), 2),
        "recovered_s": round(first_ok_after - (t_back or t_fault), 2) if first_ok_after else None,
        "all_conversations_continue": all(after.values()),
        **extra,
    }
    return result


def run_drill(name: str, stack: Stack, pg: Postgres, red: Redis, seconds: float) -> dict:
    senders = [f"drill-{name}-{i}-{uuid.uuid4().hex[:4]}" for i in range(6)]
    log: List[Sent] = []
    stop = threading.Event()
    threads = load(stack.base, senders, stop, log)
    time.sleep(seconds / 3)
    t_fault = time.monotonic()
    t_back = None
    extra: dict = {}
    if name == "kill-replica":
        stack.procs["a"].send_signal(signal.SIGKILL)
        stack.procs["a"].wait()
        extra["fault"] = "replica A killed with SIGKILL"
        time.sleep(seconds * 2 / 3)
    elif name == "postgres":
        pg.stop()
        extra["fault"] = "PostgreSQL stopped (fast shutdown) for 8 s"
        time.sleep(1)
        crisis = say(stack.base, f"drill-crisis-postgres-{uuid.uuid4().hex[:4]}", CRISIS)
        time.sleep(7)
        pg.start()
        # Checked once the database is back: a handoff cannot be recorded while it is down.
        extra["crisis_while_down"] = crisis_check(crisis, stack)
        t_back = time.monotonic()
        time.sleep(seconds / 2)
    elif name == "redis":
        red.stop()
        extra["fault"] = "Redis stopped for 8 s"
        time.sleep(1)
        crisis = say(stack.base, f"drill-crisis-redis-{uuid.uuid4().hex[:4]}", CRISIS)
        extra["crisis_while_down"] = crisis_check(crisis, stack)
        time.sleep(7)
        red.start()
        t_back = time.monotonic()
        time.sleep(seconds / 2)
    elif name == "action-server":
        stack.stop("actions")
        extra["fault"] = "action server stopped for 8 s"
        crisis = say(stack.base, f"drill-crisis-actions-{uuid.uuid4().hex[:4]}", CRISIS)
        extra["crisis_while_down"] = crisis_check(crisis, stack)
        time.sleep(6)
        stack.start_actions()
        t_back = time.monotonic()
        time.sleep(seconds / 2)
    stop.set()
    for t in threads:
        t.join(timeout=200)
    result = summarise(name, log, stack, senders, t_fault, t_back, extra)
    if name == "kill-replica":
        result["replica_b_alive"] = stack.procs["b"].poll() is None
        stack.start_replica("a")
        wait_http(f"http://127.0.0.1:{stack.ports['a']}/", stack.procs["a"], 300)
    return result


def crisis_check(sent: Sent, stack: Stack) -> dict:
    text = " ".join(r.get("text") or "" for r in sent.replies)
    from bot.handoff import list_handoffs

    try:
        handoff = any(h["conversation_id"] == sent.sender for h in list_handoffs(url=stack.db_url))
    except Exception as exc:
        handoff = f"could not check: {type(exc).__name__}"
    return {
        "status": sent.status,
        "resources_reached_user": "988" in text,
        "degraded_answer": sent.degraded,
        "handoff_recorded": handoff,
    }


def to_markdown(results: List[dict]) -> str:
    lines = [
        "| drill | sent | answered | failed (status: count) | lost | duplicates | "
        "recovered in | conversations continue | crisis while down |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        crisis = r.get("crisis_while_down")
        crisis_text = (
            f"status {crisis['status']}, 988 reached: {crisis['resources_reached_user']}, "
            f"handoff: {crisis['handoff_recorded']}"
            if crisis
            else "-"
        )
        failed = ", ".join(f"{k}: {v}" for k, v in r["failed"].items()) or "none"
        lines.append(
            f"| {r['drill']} ({r['fault']}) | {r['sent']} | {r['answered']} | {failed} | "
            f"{r['lost']} | {r['duplicated_user_events']} | "
            f"{r['recovered_s'] if r['recovered_s'] is not None else '-'} s | "
            f"{r['all_conversations_continue']} | {crisis_text} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="kill-replica,postgres,redis,action-server")
    parser.add_argument("--seconds", type=float, default=15.0, help="load per drill")
    args = parser.parse_args()
    if not MODEL.exists():
        print("no trained model: make train", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="drill-"))
    os.chmod(workdir, 0o755)
    pg = red = stack = None
    results: List[dict] = []
    try:
        pg = Postgres(workdir / "pg")
        red = Redis(workdir)
        print(f"drill stack in {workdir}: PostgreSQL :{pg.port}, Redis :{red.port}", flush=True)
        stack = Stack(workdir, pg.url, red.url)
        print(f"two replicas behind nginx at {stack.base}", flush=True)
        for name in args.only.split(","):
            print(f"--- drill {name}", flush=True)
            result = run_drill(name, stack, pg, red, args.seconds)
            print(json.dumps(result, indent=2), flush=True)
            results.append(result)
    finally:
        if stack:
            stack.close()
        if red:
            red.stop()
        if pg:
            try:
                pg.stop()
            except subprocess.CalledProcessError:
                pass
    out = ROOT / "results" / "drills"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = to_markdown(results)
    (out / "latest.md").write_text(table)
    print(table)
    lost = sum(r["lost"] for r in results)
    print(f"logs: {workdir}; lost answered messages in all drills: {lost}")
    return 0 if lost == 0 and all(r["all_conversations_continue"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the assistant against a stock Rasa bot (``rasa init``) on the same machine.

    python scripts/bench.py [--quick] [--fresh] [--skip-train-ours] [--requests N]
                            [--levels 1,8,32] [--replicas] [--only STEPS]

Steps (``--only`` takes a comma-separated subset; default all but ``replicas``):

``train``    time ``rasa train`` of our project into a temporary folder, with a fresh
             training cache (skipped with ``--skip-train-ours``).
``stock``    build the stock bot with ``rasa init --no-prompt`` under var/bench/stock (this
             trains it; timed). Reused while its model exists and was built by the same
             Rasa version ("cached"); ``--fresh`` rebuilds it.
``serve``    for each bot in turn (never both at once: the machine's cores are shared), start
             its action server and Rasa server with the same flags, environment and tracker
             store type (SQLite, a file of its own), time process start to first answer, run
             the load generator (scripts/loadgen.py) over the REST channel at each
             concurrency level, then read both processes' resident memory (VmRSS).
``safety``   in-process (bot.nlu_eval.load_agent): ~200 hold-out messages through
             ``agent.handle_text`` with the SafetyScreen and SafetyPolicy timed, reported as
             their share of each message's time (target: screen < 5%).
``profile``  cProfile over ``agent.handle_text`` for our bot: top functions and where a
             message's time goes, written to results/bench/profile-<timestamp>.txt.
``replicas`` (``--replicas``) throughput through nginx in front of one replica vs two
             (PostgreSQL + Redis); needs bot/deploy/nginx.py.

Results: results/bench/bench-<timestamp>.json and results/bench/latest.md (metric | ours |
stock | ratio ours/stock), also printed. Benchmarks print figures; they assert nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.util
import io
import json
import os
import platform
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from loadgen import percentile, run_level  # noqa: E402

BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "assistant.tar.gz"
BENCH_VAR = ROOT / "var" / "bench"
STOCK_DIR = BENCH_VAR / "stock"
STOCK_STAMP = STOCK_DIR / "bench-build.json"
RESULTS = ROOT / "results" / "bench"
HOLDOUT = ROOT / "tests" / "nlu" / "holdout.yml"

OURS_SEQUENCE = [
    "what is klonopin?",
    "how long does withdrawal last",
    "what are the side effects",
    "hello",
    "thank you",
]
STOCK_SEQUENCE = ["hello", "I am sad", "yes", "great", "bye"]
# The Makefile exports these; set them here too when the script is run directly.
BENCH_ENV = {
    "PYTHONHASHSEED": "0",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}
# --server-env KEY=VALUE (experiments, e.g. TensorFlow threads): for every server started.
SERVER_ENV: Dict[str, str] = {}
# Nothing from the caller's shell may switch one bot to other stores or channels.
UNSET_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "LOCK_STORE_KEY_PREFIX",
    "SANIC_WORKERS",
    "RASA_CACHE_DIRECTORY",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_NUMBER",
    "HANDOFF_WEBHOOK_URL",
)


def log(msg: str) -> None:
    """Progress on stderr, so stdout stays the results."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bench_env(**extra: str) -> Dict[str, str]:
    """The environment both bots run in (plus ``extra``)."""
    from bot.settings import action_server_token

    env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
    # Our endpoints.yml sends this to our action server (python -m bot actions).
    env["ACTION_SERVER_TOKEN"] = action_server_token()
    env.update(BENCH_ENV)
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------
# Machine facts and process memory
# --------------------------------------------------------------------------------------
def machine_facts() -> Dict[str, Any]:
    """Cores, CPU model, memory, Python and Rasa versions."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    from importlib.metadata import version

    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "rasa": version("rasa"),
        "rasa_sdk": version("rasa-sdk"),
        "tensorflow": _version_or_none("tensorflow") or _version_or_none("tensorflow-cpu"),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _version_or_none(name: str) -> Optional[str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _children(pid: int) -> List[int]:
    kids: List[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                kids += [int(p) for p in (task / "children").read_text().split()]
    return kids


def rss_mb(pid: int) -> Optional[float]:
    """Resident memory (VmRSS) of a process and its descendants, in MB; None if gone."""
    total_kb, found, todo = 0, False, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    found = True
        todo += _children(current)
    return round(total_kb / 1024, 1) if found else None


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
def train_ours(skip: bool) -> Dict[str, Any]:
    """Time `rasa train` of our project into a temporary folder (fresh training cache)."""
    if skip:
        # scripts/train_if_needed.py prints its training time but records it nowhere.
        return {"seconds": None, "note": "not measured (--skip-train-ours)"}
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="train-ours-", dir=BENCH_VAR) as tmp:
        cmd = [
            str(BIN / "rasa"),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            tmp,
            "--fixed-model-name",
            "bench",
            "--force",
        ]
        log("training our model into a temporary folder (about 8 minutes on 2 cores) ...")
        env = bench_env(RASA_CACHE_DIRECTORY=str(Path(tmp) / "cache"))
        with open(Path(tmp) / "train.log", "w") as out:
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            seconds = time.perf_counter() - start
        ok = proc.returncode == 0 and (Path(tmp) / "bench.tar.gz").exists()
        if not ok:
            tail = (Path(tmp) / "train.log").read_text()[-2000:]
            log(f"training failed (exit {proc.returncode}):\n{tail}")
            return {"seconds": None, "note": f"training failed (exit {proc.returncode})"}
    log(f"our training took {seconds:.0f} s")
    return {"seconds": round(seconds, 1), "note": "measured"}


def build_stock(fresh: bool) -> Dict[str, Any]:
    """`rasa init --no-prompt` under var/bench/stock (trains it), or reuse it (cached)."""
    from importlib.metadata import version

    rasa_version = version("rasa")
    models = sorted((STOCK_DIR / "models").glob("*.tar.gz")) if STOCK_DIR.exists() else []
    stamp = json.loads(STOCK_STAMP.read_text()) if STOCK_STAMP.exists() else {}
    if models and not fresh and stamp.get("rasa") == rasa_version:
        log(f"stock bot cached: {models[-1].relative_to(ROOT)} (--fresh rebuilds it)")
        return {
            "model": str(models[-1]),
            "cached": True,
            "seconds": stamp.get("train_seconds"),
            "built_at": stamp.get("built_at"),
            "note": f"cached (measured when built, {stamp.get('built_at', '?')})",
        }
    if STOCK_DIR.exists():
        shutil.rmtree(STOCK_DIR)
    STOCK_DIR.mkdir(parents=True)  # rasa init wants the folder to exist
    cmd = [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(STOCK_DIR)]
    log("building the stock bot: rasa init --no-prompt (trains it) ...")
    log_path = BENCH_VAR / "stock-init.log"
    env = bench_env(RASA_CACHE_DIRECTORY=str(STOCK_DIR / ".rasa" / "cache"))
    with open(log_path, "w") as out:
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=BENCH_VAR, env=env, stdout=out, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
    models = sorted((STOCK_DIR / "models").glob("*.tar.gz"))
    if proc.returncode != 0 or not models:
        raise SystemExit(f"rasa init failed (exit {proc.returncode}); see {log_path}")
    built_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    STOCK_STAMP.write_text(
        json.dumps({"rasa": rasa_version, "train_seconds": round(seconds, 1), "built_at": built_at})
    )
    log(f"stock bot built and trained in {seconds:.0f} s")
    return {
        "model": str(models[-1]),
        "cached": False,
        "seconds": round(seconds, 1),
        "built_at": built_at,
        "note": "measured (rasa init: scaffold + train)",
    }


# --------------------------------------------------------------------------------------
# Serving both bots the same way
# --------------------------------------------------------------------------------------
@dataclass
class BotSpec:
    """How to serve one bot: its project folder, model, channels and endpoints."""

    name: str
    cwd: Path
    model: Path
    credentials: Path
    sequence: List[str]
    endpoints: Callable[[int, Path], str]
    env: Callable[[Path], Dict[str, str]] = field(default=lambda workdir: {})
    prepare: Callable[[Dict[str, str]], None] = field(default=lambda env: None)


def ours_spec(model: Path = MODEL) -> BotSpec:
    """Our assistant: our endpoints.yml (ConfiguredSQLTrackerStore on DATABASE_URL)."""

    def endpoints(actions_port: int, workdir: Path) -> str:
        return (
            (ROOT / "endpoints.yml")
            .read_text()
            .replace("localhost:5055", f"localhost:{actions_port}")
        )

    def prepare(env: Dict[str, str]) -> None:
        # As scripts/run.sh does: our own tables are migrated before anything starts.
        subprocess.run(
            [str(BIN / "python"), "-m", "bot", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    return BotSpec(
        name="ours",
        cwd=ROOT,
        model=model,
        credentials=ROOT / "credentials.yml",
        sequence=OURS_SEQUENCE,
        endpoints=endpoints,
        env=lambda workdir: {"DATABASE_URL": f"sqlite:///{workdir / 'tracker.db'}"},
        prepare=prepare,
    )


def stock_spec(model: Path) -> BotSpec:
    """The `rasa init` bot: Rasa's own SQL tracker store on a SQLite file."""

    def endpoints(actions_port: int, workdir: Path) -> str:
        return (
            "# Written by scripts/bench.py: the stock bot, same store types as ours.\n"
            f'action_endpoint:\n  url: "http://localhost:{actions_port}/webhook"\n'
            "tracker_store:\n  type: SQL\n  dialect: sqlite\n"
            f"  db: {workdir / 'tracker.db'}\n"
        )

    return BotSpec(
        name="stock",
        cwd=STOCK_DIR,
        model=model,
        credentials=STOCK_DIR / "credentials.yml",
        sequence=STOCK_SEQUENCE,
        endpoints=endpoints,
    )


@dataclass
class Running:
    """A bot's servers, up and answering."""

    url: str
    rasa_pid: int
    actions_pid: int
    startup_s: float
    actions_ready_s: float


def _post(url: str, sender: str, text: str, timeout: float = 60) -> list:
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _wait_until(check: Callable[[], bool], proc: subprocess.Popen, what: str, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if check():
                return
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up in {seconds:.0f} s")


def rasa_command(model: Path, port: int, token: str, credentials: Path, endpoints: Path):
    """`rasa run` with the flags every bot (and replica) here is served with."""
    return [
        str(BIN / "rasa"),
        "run",
        "--model",
        str(model),
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--enable-api",
        "--auth-token",
        token,
        "--credentials",
        str(credentials),
        "--endpoints",
        str(endpoints),
    ]


def actions_command(port: int, cwd: Path = ROOT) -> List[str]:
    """The action server: ours (`python -m bot actions`: loopback, token required) in this
    project, rasa_sdk's own for the stock bot (which has no custom actions)."""
    if cwd == ROOT:
        return [str(BIN / "python"), "-m", "bot", "actions", "--port", str(port)]
    return [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)]


class Processes:
    """Child processes with their log files; stopped (TERM, then KILL) on close."""

    def __init__(self) -> None:
        """Nothing started yet."""
        self.procs: List[subprocess.Popen] = []
        self.logs: List[Any] = []

    def start(self, cmd: List[str], cwd: Path, env: Dict[str, str], log_path: Path):
        """Start ``cmd`` with stdout and stderr into ``log_path``; the Popen."""
        self.logs.append(open(log_path, "w"))
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=self.logs[-1], stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen) -> None:
        """Stop one process (TERM, 30 s, KILL)."""
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Stop everything started here, newest first, and close the logs."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            self.stop(proc)
        for fh in self.logs:
            fh.close()


def _health(url: str) -> Callable[[], bool]:
    def check() -> bool:
        urllib.request.urlopen(url, timeout=2)
        return True

    return check


@contextlib.contextmanager
def serving(spec: BotSpec, workdir: Path) -> Iterator[Running]:
    """Start the bot's action server and Rasa server (same flags for every bot); stop after.

    Startup is timed from starting both processes to the first answer on the REST channel.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    rasa_port, actions_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(spec.endpoints(actions_port, workdir))
    env = bench_env(**spec.env(workdir), **SERVER_ENV)
    spec.prepare(env)
    token = "bench-" + uuid.uuid4().hex
    url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
    procs = Processes()
    try:
        start = time.perf_counter()
        actions = procs.start(
            actions_command(actions_port, spec.cwd), spec.cwd, env, workdir / "actions.log"
        )
        rasa = procs.start(
            rasa_command(spec.model, rasa_port, token, spec.credentials, endpoints),
            spec.cwd,
            env,
            workdir / "rasa.log",
        )
        health = _health(f"http://127.0.0.1:{actions_port}/health")
        _wait_until(health, actions, f"{spec.name} action server", 120)
        actions_ready = time.perf_counter() - start
        first_sender = f"bench-first-{uuid.uuid4().hex[:8]}"
        _wait_until(
            lambda: bool(_post(url, first_sender, spec.sequence[0], timeout=5)),
            rasa,
            f"{spec.name} Rasa server",
            300,
        )
        startup = time.perf_counter() - start
        log(f"{spec.name}: first answer {startup:.1f} s after start")
        yield Running(url, rasa.pid, actions.pid, round(startup, 2), round(actions_ready, 2))
    finally:
        procs.close()


def load_levels(
    url: str, sequence: List[str], levels: List[int], requests: int, timeout: float, name: str
) -> List[Dict[str, Any]]:
    """Run the load generator at each concurrency level in turn; the summaries."""
    out = []
    for concurrency in levels:
        result = asyncio.run(
            run_level(url, concurrency, requests, sequence, timeout=timeout, sender_prefix=name)
        )
        summary = result.summary()
        log(
            f"{name} c={concurrency}: p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
            f"p99 {summary['p99_ms']} ms, {summary['throughput_per_s']} msg/s, "
            f"{summary['errors']} errors"
        )
        out.append(summary)
    return out


def measure_bot(spec: BotSpec, args: argparse.Namespace, workdir: Path) -> Dict[str, Any]:
    """Start, time the first answer, load at each level, read memory, stop."""
    log(f"serving {spec.name} ({spec.model.name}) ...")
    with serving(spec, workdir) as running:
        # A short warm-up so the first level does not pay for lazy first-use work.
        asyncio.run(run_level(running.url, 1, len(spec.sequence), spec.sequence, args.timeout))
        levels = load_levels(
            running.url, spec.sequence, args.levels, args.requests, args.timeout, spec.name
        )
        rss = {"rasa_mb": rss_mb(running.rasa_pid), "actions_mb": rss_mb(running.actions_pid)}
    return {
        "model": str(spec.model),
        "sequence": spec.sequence,
        "startup_to_first_answer_s": running.startup_s,
        "action_server_ready_s": running.actions_ready_s,
        "levels": levels,
        "rss_after_load": rss,
        "logs": str(workdir),
    }


# --------------------------------------------------------------------------------------
# In process: the safety layer's share, and the profile
# --------------------------------------------------------------------------------------
def holdout_messages(limit: int) -> List[str]:
    """FAQ and chit-chat hold-out questions (no custom action needed), then our sequence."""
    from bot.nlu_eval import load_examples

    keep = ("greet", "goodbye", "thank", "bot_challenge")
    texts = [t for t, label in load_examples(HOLDOUT) if label.startswith("faq/") or label in keep]
    texts += OURS_SEQUENCE
    out = []
    while len(out) < limit:
        out += texts
    return out[:limit]


class Timers:
    """Wall time spent inside wrapped functions, per message."""

    def __init__(self) -> None:
        """Start with nothing recorded."""
        self.spent: Dict[str, float] = {}

    def wrap(self, owner: type, attr: str, key: str) -> None:
        """Replace ``owner.attr`` with a timed version (sync functions only)."""
        original = getattr(owner, attr)
        timers = self

        def timed(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                timers.spent[key] = timers.spent.get(key, 0.0) + time.perf_counter() - t0

        timed.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(owner, attr, timed)

    def take(self) -> Dict[str, float]:
        """What was recorded since the last take, and start again."""
        spent, self.spent = self.spent, {}
        return spent


@dataclass
class InProcess:
    """Our agent in this process, set up as the server runs it, with the safety timers."""

    agent: Any
    loop: asyncio.AbstractEventLoop
    timers: Timers

    def say(self, sender: str, text: str) -> list:
        """One message through ``agent.handle_text``; the replies."""
        return self.loop.run_until_complete(self.agent.handle_text(text, sender_id=sender))


@contextlib.contextmanager
def in_process(workdir: Path) -> Iterator[InProcess]:
    """Our model through bot.nlu_eval.load_agent, set up as `rasa run` has it.

    SQLite tracker store (ConfiguredSQLTrackerStore), ClinicNLG and a running action
    server. SafetyScreen.process and SafetyPolicy.predict_action_probabilities are timed;
    Rasa's graph nodes look the method up on the class when the model is loaded, so the
    wrappers are put in place before load_agent (and removed after).
    """
    from rasa.core.nlg import NaturalLanguageGenerator
    from rasa.utils.endpoints import EndpointConfig

    from bot.components.safety_policy import SafetyPolicy
    from bot.components.safety_screen import SafetyScreen
    from bot.nlu_eval import load_agent
    from bot.storage.tracker_store import ConfiguredSQLTrackerStore

    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'inproc.db'}"
    env = bench_env(DATABASE_URL=db_url)
    ours_spec().prepare(env)
    actions_port = free_port()
    procs = Processes()
    timers = Timers()
    timers.wrap(SafetyScreen, "process", "screen")
    timers.wrap(SafetyPolicy, "predict_action_probabilities", "policy")
    os.environ["DATABASE_URL"] = db_url  # what our code in the Rasa process reads
    try:
        actions = procs.start(actions_command(actions_port), ROOT, env, workdir / "actions.log")
        log("in-process: loading our model (bot.nlu_eval.load_agent) ...")
        agent = load_agent(MODEL)
        store = ConfiguredSQLTrackerStore(domain=agent.domain, host=db_url)
        endpoint = EndpointConfig(url=f"http://localhost:{actions_port}/webhook")
        nlg = NaturalLanguageGenerator.create(
            EndpointConfig(type="bot.nlg.ClinicNLG"), agent.domain
        )
        agent.tracker_store = agent.processor.tracker_store = store
        agent.action_endpoint = agent.processor.action_endpoint = endpoint
        agent.nlg = agent.processor.nlg = nlg
        _wait_until(
            _health(f"http://127.0.0.1:{actions_port}/health"), actions, "action server", 120
        )
        loop = asyncio.new_event_loop()
        running = InProcess(agent, loop, timers)
        for sender, text in _conversations(OURS_SEQUENCE, 5, "warm"):
            running.say(sender, text)
        try:
            yield running
        finally:
            loop.close()
    finally:
        os.environ.pop("DATABASE_URL", None)
        procs.close()
        SafetyScreen.process = SafetyScreen.process.__wrapped__
        SafetyPolicy.predict_action_probabilities = (
            SafetyPolicy.predict_action_probabilities.__wrapped__
        )


def _conversations(messages: List[str], per_conversation: int, tag: str) -> List[tuple]:
    tag = f"{tag}-{uuid.uuid4().hex[:6]}"
    return [(f"inproc-{tag}-{i // per_conversation}", text) for i, text in enumerate(messages)]


def _clear_detector_cache() -> None:
    # The SafetyPolicy's per-text cache would otherwise remember earlier steps' messages.
    from bot.safety.conversation import assess_cached

    assess_cached.cache_clear()


def safety_share(running: InProcess, messages_n: int) -> Dict[str, Any]:
    """Time the SafetyScreen and SafetyPolicy inside ``agent.handle_text`` per message."""
    log(f"in-process: {messages_n} hold-out messages, safety layer timed ...")
    _clear_detector_cache()
    running.timers.take()
    rows = []
    for sender, text in _conversations(holdout_messages(messages_n), 5, "share"):
        t0 = time.perf_counter()
        replies = running.say(sender, text)
        total = time.perf_counter() - t0
        spent = running.timers.take()
        rows.append((total, spent.get("screen", 0.0), spent.get("policy", 0.0), bool(replies)))
    total = sum(r[0] for r in rows)
    screen = sum(r[1] for r in rows)
    policy = sum(r[2] for r in rows)
    screen_shares = sorted(100 * r[1] / r[0] for r in rows if r[0] > 0)
    both_shares = sorted(100 * (r[1] + r[2]) / r[0] for r in rows if r[0] > 0)
    ms = sorted(1000 * r[0] for r in rows)
    result = {
        "messages": len(rows),
        "answered": sum(r[3] for r in rows),
        "tracker_store": "ConfiguredSQLTrackerStore (SQLite)",
        "per_message_total_ms": {
            "mean": round(1000 * total / len(rows), 2),
            "p50": round(percentile(ms, 50), 2),
            "p95": round(percentile(ms, 95), 2),
        },
        "screen_ms_mean": round(1000 * screen / len(rows), 3),
        "policy_ms_mean": round(1000 * policy / len(rows), 3),
        "screen_share_pct": round(100 * screen / total, 2),
        "screen_share_pct_p50": round(percentile(screen_shares, 50), 2),
        "screen_share_pct_p95": round(percentile(screen_shares, 95), 2),
        "policy_share_pct": round(100 * policy / total, 2),
        "safety_layer_share_pct": round(100 * (screen + policy) / total, 2),
        "safety_layer_share_pct_p95": round(percentile(both_shares, 95), 2),
        "target": "screen < 5% of a message's time",
    }
    result["meets_target"] = result["screen_share_pct"] < 5
    log(
        f"safety screen: {result['screen_ms_mean']} ms of {result['per_message_total_ms']['mean']}"
        f" ms per message ({result['screen_share_pct']}%); SafetyPolicy "
        f"{result['policy_ms_mean']} ms ({result['policy_share_pct']}%)"
    )
    return result


# Where a message's time goes: cumulative time of these entry points (file part, function).
PROFILE_AREAS = [
    ("whole message (handle_text)", "rasa/core/agent.py", "handle_message"),
    ("NLU: parse_message", "rasa/core/processor.py", "parse_message"),
    ("  SpacyNLP.process", "nlu/utils/spacy_utils.py", "process"),
    ("  SpacyTokenizer.process", "nlu/tokenizers/tokenizer.py", "process"),
    ("  CountVectorsFeaturizer.process", "count_vectors_featurizer.py", "process"),
    ("  DIETClassifier.process", "nlu/classifiers/diet_classifier.py", "process"),
    ("  ResponseSelector.process", "nlu/selectors/response_selector.py", "process"),
    ("  FallbackClassifier.process", "fallback_classifier.py", "process"),
    ("  SafetyScreen.process", "bot/components/safety_screen.py", "process"),
    (
        "  TensorFlow model predict (DIET + ResponseSelector)",
        "rasa/utils/tensorflow/models.py",
        "run_inference",
    ),
    (
        "Dialogue: predict_next_with_tracker_if_should",
        "rasa/core/processor.py",
        "predict_next_with_tracker_if_should",
    ),
    ("  MemoizationPolicy", "rasa/core/policies/memoization.py", "predict_action_probabilities"),
    ("  RulePolicy", "rasa/core/policies/rule_policy.py", "predict_action_probabilities"),
    ("  SafetyPolicy", "bot/components/safety_policy.py", "predict_action_probabilities"),
    (
        "  featurize tracker states (prediction_states)",
        "rasa/shared/core/trackers.py",
        "past_states",
    ),
    ("Tracker store: retrieve", "rasa/core/tracker_store.py", "retrieve"),
    ("Tracker store: save", "rasa/core/tracker_store.py", "save"),
    (
        "  SafetyPolicy: detector on a text not seen yet (assess_cached miss)",
        "bot/safety/conversation.py",
        "assess_cached",
    ),
    ("Safety detector, all calls (detector.assess)", "bot/safety/detector.py", "assess"),
    ("NLG: generate", "bot/nlg.py", "generate"),
    ("Lock store", "rasa/core/lock_store.py", "lock"),
]


def profile_ours(
    running: InProcess, messages_n: int, stamp: str, out_dir: Path = RESULTS
) -> Dict[str, Any]:
    """cProfile ``agent.handle_text`` over ``messages_n`` messages; areas and top functions."""
    log(f"in-process: profiling {messages_n} messages (cProfile) ...")
    _clear_detector_cache()
    convs = _conversations(holdout_messages(messages_n), 5, "prof")
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for sender, text in convs:
        running.say(sender, text)
    profiler.disable()
    wall = time.perf_counter() - t0

    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    n = len(convs)
    areas = []
    for label, file_part, func in PROFILE_AREAS:
        found = [v for (fname, _, fn), v in entries.items() if fn == func and file_part in fname]
        areas.append(
            {
                "area": label,
                "ms_per_message": round(1000 * sum(v[3] for v in found) / n, 3),
                "calls_per_message": round(sum(v[1] for v in found) / n, 2),
            }
        )
    top = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:25]
    top_self = [
        {
            "function": f"{_short(fname)}:{line}({fn})",
            "self_ms_per_message": round(1000 * v[2] / n, 3),
            "cumulative_ms_per_message": round(1000 * v[3] / n, 3),
            "calls_per_message": round(v[1] / n, 1),
        }
        for (fname, line, fn), v in top
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    text_out = io.StringIO()
    pstats.Stats(profiler, stream=text_out).sort_stats("cumulative").print_stats(60)
    pstats.Stats(profiler, stream=text_out).sort_stats("tottime").print_stats(40)
    path = out_dir / f"profile-{stamp}.txt"
    path.write_text(
        f"cProfile of agent.handle_text, {n} messages, {wall:.2f} s wall "
        f"({1000 * wall / n:.1f} ms per message, profiler overhead included)\n\n"
        + text_out.getvalue()
    )
    log(f"profile written to {path}")
    return {
        "messages": n,
        "wall_ms_per_message_profiled": round(1000 * wall / n, 2),
        "areas": areas,
        "top_self_time": top_self,
        "file": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
    }


def _short(fname: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in fname:
            return fname.split(marker, 1)[1]
    return fname


# --------------------------------------------------------------------------------------
# Two replicas behind nginx (hook)
# --------------------------------------------------------------------------------------
REPLICA_LEVELS = [8, 32]


@contextlib.contextmanager
def fresh_postgres_db() -> Iterator[str]:
    """A PostgreSQL database of our own with our tables and Rasa's, dropped after.

    As tests/test_replicas.py ``fresh_postgres``: the schema exists before replicas start.
    """
    import sqlalchemy as sa

    from bot.storage import db
    from bot.storage.tracker_store import ConfiguredSQLTrackerStore

    admin_url = os.environ.get(
        "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    name = f"rasa_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        db.upgrade(url)
        ConfiguredSQLTrackerStore(host=url).engine.dispose()
        yield url
    finally:
        engine = db._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _nginx_binary() -> Optional[str]:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def _write_nginx(listen_port: int, replicas: List[str], workdir: Path) -> Path:
    from bot.deploy import nginx

    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(nginx.render_nginx_conf(listen_port, replicas, workdir))
    return conf


def measure_replicas(args: argparse.Namespace, workdir: Path) -> Dict[str, Any]:
    """Throughput through nginx in front of one replica vs two (PostgreSQL + Redis).

    Both replicas and one action server start once (the second idles while nginx sends
    everything to the first); nginx is started with a one-replica conf, measured at 8 and
    32 concurrent conversations, stopped, then started with the two-replica conf.
    Needs bot/deploy/nginx.py (``render_nginx_conf(listen_port, replicas, workdir)``).
    """
    if importlib.util.find_spec("bot.deploy.nginx") is None:
        note = "skipped: bot/deploy/nginx.py does not exist yet"
        log(f"replicas: {note}")
        return {"status": note}
    nginx_bin = _nginx_binary()
    if nginx_bin is None:
        return {"status": "skipped: nginx is not installed"}
    import redis

    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = "bench" + uuid.uuid4().hex[:10]
    red = redis.Redis.from_url(redis_url, socket_timeout=5)
    red.ping()
    workdir.mkdir(parents=True, exist_ok=True)
    out: Dict[str, Any] = {"levels": REPLICA_LEVELS, "requests": args.requests, "runs": {}}
    log("replicas: fresh PostgreSQL database, Redis, action server and two replicas ...")
    with fresh_postgres_db() as db_url, contextlib.ExitStack() as stack:
        procs = Processes()
        stack.callback(procs.close)
        env = bench_env(
            DATABASE_URL=db_url, REDIS_URL=redis_url, LOCK_STORE_KEY_PREFIX=prefix, **SERVER_ENV
        )
        actions_port = free_port()
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(
            (ROOT / "endpoints.yml")
            .read_text()
            .replace("localhost:5055", f"localhost:{actions_port}")
        )
        token = "bench-" + uuid.uuid4().hex
        actions = procs.start(actions_command(actions_port), ROOT, env, workdir / "actions.log")
        ports = [free_port(), free_port()]
        replicas = [
            procs.start(
                rasa_command(MODEL, port, token, ROOT / "credentials.yml", endpoints),
                ROOT,
                env,
                workdir / f"rasa-{port}.log",
            )
            for port in ports
        ]
        _wait_until(
            _health(f"http://127.0.0.1:{actions_port}/health"), actions, "action server", 120
        )
        for port, proc in zip(ports, replicas, strict=True):
            url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
            _wait_until(lambda u=url: bool(_post(u, "bench-up", "hello", 5)), proc, "replica", 300)
        for count in (1, 2):
            names = [f"127.0.0.1:{p}" for p in ports[:count]]
            listen = free_port()
            conf = _write_nginx(listen, names, workdir / f"nginx-{count}")
            lb = procs.start(
                [nginx_bin, "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;"],
                ROOT,
                env,
                workdir / f"nginx-{count}.log",
            )
            url = f"http://127.0.0.1:{listen}/webhooks/rest/webhook"
            _wait_until(lambda u=url: bool(_post(u, "bench-lb", "hello", 5)), lb, "nginx", 30)
            asyncio.run(run_level(url, 2 * count, 10, OURS_SEQUENCE, args.timeout))  # warm-up
            out["runs"][str(count)] = load_levels(
                url, OURS_SEQUENCE, REPLICA_LEVELS, args.requests, args.timeout, f"nginx-{count}"
            )
            Processes.stop(lb)
        for key in red.scan_iter(f"{prefix}:*"):
            red.delete(key)
    ratios = {}
    for one, two in zip(out["runs"]["1"], out["runs"]["2"], strict=True):
        ratios[str(one["concurrency"])] = (
            round(two["throughput_per_s"] / one["throughput_per_s"], 2)
            if one["throughput_per_s"]
            else None
        )
    out["throughput_ratio_two_vs_one"] = ratios
    out["target"] = ">= 1.5"
    out["summary"] = "; ".join(
        f"{c} conv: {one['throughput_per_s']} -> {two['throughput_per_s']} msg/s "
        f"(x{ratios[str(c)]}, errors {one['errors']}/{two['errors']})"
        for c, one, two in zip(REPLICA_LEVELS, out["runs"]["1"], out["runs"]["2"], strict=True)
    )
    log(f"replicas: {out['summary']}")
    return out


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def _ratio(ours: Optional[float], stock: Optional[float]) -> str:
    if ours is None or stock is None or stock == 0:
        return "n/a"
    return f"{ours / stock:.2f}"


def _fmt(value: Optional[float], unit: str = "") -> str:
    if value is None:
        return "not measured"
    return f"{value:g}{unit}"


def table_rows(results: Dict[str, Any]) -> List[List[str]]:
    """metric | ours | stock | ratio ours/stock."""
    rows: List[List[str]] = []
    train = results.get("training", {})
    ours_t, stock_t = train.get("ours", {}), train.get("stock", {})
    if train:
        stock_note = " (cached)" if stock_t.get("cached") else ""
        rows.append(
            [
                "training time (s)",
                _fmt(ours_t.get("seconds"))
                if ours_t.get("seconds") is not None
                else ours_t.get("note", "not measured"),
                _fmt(stock_t.get("seconds")) + stock_note,
                _ratio(ours_t.get("seconds"), stock_t.get("seconds")),
            ]
        )
    serve = results.get("serve", {})
    ours, stock = serve.get("ours", {}), serve.get("stock", {})
    if not ours and not stock:
        return rows

    def both(getter: Callable[[Dict[str, Any]], Optional[float]], label: str, unit: str = ""):
        o = getter(ours) if ours else None
        s = getter(stock) if stock else None
        rows.append([label, _fmt(o, unit), _fmt(s, unit), _ratio(o, s)])

    both(lambda r: r.get("startup_to_first_answer_s"), "start to first answer (s)")
    levels = sorted({lv["concurrency"] for r in (ours, stock) for lv in r.get("levels", [])})
    for c in levels:

        def level(r: Dict[str, Any], key: str, c: int = c) -> Optional[float]:
            for lv in r.get("levels", []):
                if lv["concurrency"] == c:
                    return lv[key]
            return None

        for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
            both(lambda r, key=key: level(r, key), f"{c} conv: latency {label} (ms)")
        both(lambda r: level(r, "throughput_per_s"), f"{c} conv: throughput (answered msg/s)")
        both(lambda r: level(r, "errors"), f"{c} conv: errors (of requests sent)")
    both(lambda r: r.get("rss_after_load", {}).get("rasa_mb"), "Rasa server RSS after load (MB)")
    both(
        lambda r: r.get("rss_after_load", {}).get("actions_mb"), "action server RSS after load (MB)"
    )
    return rows


def markdown(results: Dict[str, Any]) -> str:
    """The results as a markdown page: machine, table, notes."""
    m = results["machine"]
    lines = [
        f"# Benchmark: ours vs stock Rasa ({results['timestamp']})",
        "",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gb']} GB; Python "
        f"{m['python']}, Rasa {m['rasa']}, rasa-sdk {m['rasa_sdk']}, TensorFlow "
        f"{m['tensorflow']}; load average at start {m['load_average_at_start']}.",
        "",
        f"Settings: {results['settings']['requests']} requests per level over REST "
        f"(`POST /webhooks/rest/webhook`) on loopback, per-request timeout "
        f"{results['settings']['timeout_s']} s; each concurrent worker is its own "
        "conversation (5 messages, then a new one); one bot served at a time; SQLite tracker "
        "store each; same `rasa run` flags and environment"
        + (
            f" plus {results['settings']['server_env']}"
            if results["settings"]["server_env"]
            else ""
        )
        + ".",
        "",
        "| metric | ours | stock | ratio ours/stock |",
        "|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in table_rows(results)]
    lines.append("")
    notes = results.get("notes", [])
    share = results.get("safety_share")
    if share:
        notes.append(
            f"Safety screen: {share['screen_ms_mean']} ms of "
            f"{share['per_message_total_ms']['mean']} ms per message in process = "
            f"{share['screen_share_pct']}% (target < 5%: "
            f"{'met' if share['meets_target'] else 'NOT met'}); SafetyPolicy "
            f"{share['policy_ms_mean']} ms ({share['policy_share_pct']}%); whole safety layer "
            f"{share['safety_layer_share_pct']}% ({share['messages']} hold-out messages, "
            "handle_text with the SQLite tracker store, ClinicNLG and the action server)."
        )
    prof = results.get("profile")
    if prof:
        areas = ", ".join(
            f"{a['area'].strip()} {a['ms_per_message']} ms"
            for a in prof["areas"]
            if a["ms_per_message"] >= 0.5
        )
        notes.append(f"Profile ({prof['messages']} messages, ms per message): {areas}.")
        notes.append(f"Full profile: `{prof['file']}`.")
    rep = results.get("replicas")
    if rep:
        notes.append(f"Replicas: {rep.get('summary') or rep.get('status')}")
    if notes:
        lines += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small counts, for development")
    ap.add_argument("--fresh", action="store_true", help="rebuild the stock bot")
    ap.add_argument("--skip-train-ours", action="store_true", help="do not time our training")
    ap.add_argument("--requests", type=int, help="requests per level (default 300, quick 30)")
    ap.add_argument("--levels", default="1,8,32", help="concurrent conversations per level")
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    ap.add_argument("--safety-messages", type=int, help="in-process messages (200, quick 40)")
    ap.add_argument("--profile-messages", type=int, help="profiled messages (150, quick 30)")
    ap.add_argument("--replicas", action="store_true", help="also measure 1 vs 2 replicas")
    ap.add_argument(
        "--only", help="comma-separated steps: train,stock,serve,safety,profile,replicas"
    )
    ap.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every server (experiments); recorded in the results",
    )
    ap.add_argument("--bots", default="ours,stock", help="which bots the serve step serves")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.levels = [int(x) for x in args.levels.split(",") if x.strip()]
    for item in args.server_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            ap.error(f"--server-env wants KEY=VALUE, got {item!r}")
        SERVER_ENV[key] = value
    args.requests = max(1, min(5000, args.requests or (30 if args.quick else 300)))
    args.safety_messages = args.safety_messages or (40 if args.quick else 200)
    args.profile_messages = args.profile_messages or (30 if args.quick else 150)
    steps = {"train", "stock", "serve", "safety", "profile"} | (
        {"replicas"} if args.replicas else set()
    )
    args.steps = set(args.only.split(",")) if args.only else steps
    unknown = args.steps - {"train", "stock", "serve", "safety", "profile", "replicas"}
    if unknown:
        ap.error(f"unknown steps: {', '.join(sorted(unknown))}")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Run the steps, print the table, write JSON and markdown."""
    args = parse_args(argv)
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    needs_model = args.steps & {"safety", "profile", "replicas"} or (
        "serve" in args.steps and "ours" in args.bots
    )
    if needs_model and not MODEL.exists():
        raise SystemExit(f"{MODEL} missing: run `make train` first")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = BENCH_VAR / f"run-{stamp}"
    results: Dict[str, Any] = {
        "timestamp": stamp,
        "machine": machine_facts(),
        "settings": {
            "requests": args.requests,
            "levels": args.levels,
            "timeout_s": args.timeout,
            "quick": args.quick,
            "steps": sorted(args.steps),
            "env": BENCH_ENV,
            "server_env": SERVER_ENV,
        },
        "notes": [],
    }
    if "train" in args.steps or "stock" in args.steps or "serve" in args.steps:
        results["training"] = {}
    if "train" in args.steps:
        results["training"]["ours"] = train_ours(args.skip_train_ours)
    elif "training" in results:
        results["training"]["ours"] = {"seconds": None, "note": "not measured (step skipped)"}
    stock_model: Optional[Path] = None
    if "stock" in args.steps or "serve" in args.steps:
        stock = build_stock(args.fresh)
        results["training"]["stock"] = stock
        stock_model = Path(stock["model"])
        if stock["cached"]:
            results["notes"].append(
                f"Stock training time is cached: measured when var/bench/stock was built "
                f"({stock.get('built_at')}); `--fresh` rebuilds and re-times it."
            )
    if "serve" in args.steps:
        results["serve"] = {}
        if "ours" in args.bots:
            results["serve"]["ours"] = measure_bot(ours_spec(), args, run_dir / "ours")
        if "stock" in args.bots:
            assert stock_model is not None
            spec = stock_spec(stock_model)
            results["serve"]["stock"] = measure_bot(spec, args, run_dir / "stock")
        results["notes"].append(
            "The stock bot's actions.py is empty and its conversations call no custom action: "
            "its action server runs only so that both set-ups match (its RSS is that of an idle "
            "rasa_sdk). Ours runs no custom action for this sequence either (FAQ, greet, thank)."
        )
        results["notes"].append(
            "Models at prediction time: ours runs two TensorFlow models per message (DIET for "
            "intents, ResponseSelector for the FAQ answer; no entity CRF) plus spaCy, the "
            "safety screen and three rule-like policies; the stock bot's default config runs "
            "three (DIET with entities, UnexpecTEDIntentPolicy, TEDPolicy) plus Memoization "
            "and Rule policies."
        )
    if args.steps & {"safety", "profile"}:
        with in_process(run_dir / "inproc") as running:
            if "safety" in args.steps:
                results["safety_share"] = safety_share(running, args.safety_messages)
            if "profile" in args.steps:
                results["profile"] = profile_ours(running, args.profile_messages, stamp, args.out)
    if "replicas" in args.steps:
        results["replicas"] = measure_replicas(args, run_dir / "replicas")

    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    page = markdown(results)
    (args.out / "latest.md").write_text(page)
    print(page)
    print(f"written {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}")
    print(f"written {(args.out / 'latest.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Shared fixtures: project paths, the trained model (trained once per run) and its agent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "assistant.tar.gz"
SHARED = ROOT.parent / "shared"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
# endpoints.yml sends ${ACTION_SERVER_TOKEN} to the action server: one token for this run,
# inherited by every server the tests start (and needed to read endpoints.yml in process).
os.environ.setdefault("ACTION_SERVER_TOKEN", "tests-" + os.urandom(16).hex())


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The trained model; trains it here only if `make train` has not (same inputs hash)."""
    result = subprocess.run([str(BIN / "python"), "scripts/train_if_needed.py"], cwd=ROOT)
    assert result.returncode == 0, "training failed"
    assert MODEL.exists()
    return MODEL


@pytest.fixture(scope="session")
def agent(model_path):
    """A Rasa agent loaded once per session from the trained model (NLU + policies)."""
    from bot.nlu_eval import load_agent

    return load_agent(model_path)


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    """A fresh SQLite database for our tables, also the default for code reading DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@contextmanager
def fresh_database(prefix: str):
    """A new PostgreSQL database on the local server (127.0.0.1:5432); dropped after.

    The server's `test` database outlives runs and branches (its schema may be newer
    than this checkout's migrations), so each user gets a database of its own.
    """
    import uuid

    import sqlalchemy as sa

    admin_url = os.environ.get(
        "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from bot.storage import db

        engine = db._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this run, dropped after."""
    with fresh_database("rasa_test") as url:
        yield url


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def stack(model_path, tmp_path_factory):
    """Action server + Rasa server (REST, socket.io, token-protected API) on SQLite."""
    from tests.servers import running_stack

    with running_stack(model_path, tmp_path_factory.mktemp("stack")) as running:
        print(f"servers started and first answer in {running.started_in:.1f} s")
        yield running


@pytest.fixture(scope="session")
def console(stack, tmp_path_factory):
    """The staff console beside the real Rasa server, sharing its database.

    Accounts: ``ada`` (admin, "Ada (admin)") and ``sam`` (staff, "Sam (RN)"), password
    tests.console_support.PASSWORD. The watchdog interval is a day here, so it never
    touches other tests' conversations; tests/test_console_rasa.py runs it directly.
    """
    from types import SimpleNamespace

    from bot.staff.accounts import add_user
    from tests.console_support import PASSWORD, running_console

    workdir = tmp_path_factory.mktemp("console")
    users = {
        "ada": add_user("ada", PASSWORD, "Ada (admin)", "admin", url=stack.db_url),
        "sam": add_user("sam", PASSWORD, "Sam (RN)", "staff", url=stack.db_url),
    }
    env = {"WATCHDOG_MINUTES": "1440", "CONSOLE_TRUST_PROXY": "1"}
    with running_console(stack.db_url, stack.base, stack.token, workdir, env) as base:
        yield SimpleNamespace(
            base=base, db_url=stack.db_url, stack=stack, users=users, log=workdir / "console.log"
        )


# --- two Rasa replicas on PostgreSQL + Redis (tests/test_replicas.py, test_load_balancer.py)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_client():
    """A client of the test Redis (TEST_REDIS_URL, default 127.0.0.1:6379/0), pinged."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    # No skip: the production path is tested against the real Redis (127.0.0.1:6379 here
    # and in CI); without it this fails, as it should.
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        raise AssertionError(f"no Redis at {REDIS_URL} (set TEST_REDIS_URL): {exc}") from exc
    return client


@pytest.fixture(scope="session")
def fresh_postgres():
    """A PostgreSQL database for the replicas, with our tables and Rasa's, dropped after.

    The schema is created before the replicas start so they do not race to create it.
    """

    from bot.storage import db
    from bot.storage.tracker_store import ConfiguredSQLTrackerStore

    with fresh_database("rasa_replicas") as url:
        db.upgrade(url)
        ConfiguredSQLTrackerStore(host=url).engine.dispose()
        yield url


@pytest.fixture(scope="session")
def replicas(model_path, fresh_postgres, tmp_path_factory):
    """Replica A (with the action server) and replica B, started at once, sharing it all.

    One pair per session (starting Rasa is slow), shared by tests/test_replicas.py and
    tests/test_load_balancer.py; both have the same HTTP API token (``token``).
    """
    import time
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack
    from types import SimpleNamespace

    from tests.servers import running_stack

    red = redis_client()
    prefix = "replicas" + uuid.uuid4().hex[:10]
    env = {
        "DATABASE_URL": fresh_postgres,
        "REDIS_URL": REDIS_URL,
        "LOCK_STORE_KEY_PREFIX": prefix,
    }
    actions_port = free_port()
    token = "test-token-" + uuid.uuid4().hex
    managers = [
        running_stack(
            model_path,
            tmp_path_factory.mktemp("replicaA"),
            True,
            env,
            actions_port=actions_port,
            token=token,
        ),
        running_stack(
            model_path,
            tmp_path_factory.mktemp("replicaB"),
            False,
            env,
            actions_port=actions_port,
            token=token,
        ),
    ]
    started = time.monotonic()
    with ExitStack() as stack:
        # Enter both context managers in threads (each waits ~30 s for its server), and
        # register the exits so whatever started is stopped.
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(m.__enter__) for m in managers]
        for manager, future in zip(managers, futures, strict=True):
            if future.exception() is None:
                stack.push(manager.__exit__)
        a, b = (f.result() for f in futures)
        print(f"two replicas up in {time.monotonic() - started:.1f} s")
        try:
            yield SimpleNamespace(
                a=a, b=b, db_url=fresh_postgres, redis=red, prefix=prefix, token=token
            )
        finally:
            for key in red.scan_iter(f"{prefix}:*"):
                red.delete(key)


def nginx_binary() -> str:
    """Debian's nginx (``make nginx``); fails, never skips, when it is missing."""
    import shutil

    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    assert found, "nginx is not installed (make nginx): the load balancer is tested for real"
    return found


@pytest.fixture(scope="session")
def load_balancer(replicas, tmp_path_factory):
    """nginx with bot/deploy/nginx.py's conf on a free port, in front of replicas A and B.

    ``stack`` talks to the load balancer like tests.servers.Stack talks to one server;
    ``upstreams`` maps "a"/"b" to the replicas' addresses as nginx logs them.
    """
    from types import SimpleNamespace
    from urllib.parse import urlsplit

    from bot.deploy.nginx import write_nginx_conf
    from tests.servers import Stack, _wait

    nginx = nginx_binary()
    workdir = tmp_path_factory.mktemp("nginx")
    upstreams = {
        name: f"127.0.0.1:{urlsplit(replica.base).port}"
        for name, replica in (("a", replicas.a), ("b", replicas.b))
    }
    port = free_port()
    conf = write_nginx_conf(port, list(upstreams.values()), workdir, listen_host="127.0.0.1")
    log = open(workdir / "nginx.log", "w")
    proc = subprocess.Popen(
        [nginx, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/", proc, 30)
        yield SimpleNamespace(
            base=base,
            workdir=workdir,
            conf=conf,
            access_log=workdir / "access.log",
            error_log=workdir / "error.log",
            upstreams=upstreams,
            replicas=replicas,
            stack=Stack(base, replicas.token, replicas.db_url, workdir, 0.0, workdir=workdir),
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def pytest_sessionfinish(session, exitstatus):
    """The hostile-input outcome counts (tests/test_hostile_input.py, tests/test_sms.py)."""
    import sys

    module = sys.modules.get("tests.test_hostile_input")
    if module is not None:
        module.write_outcomes()

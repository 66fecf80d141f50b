"""Shared fixtures: project paths, the trained model (trained once per run) and its agent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "assistant.tar.gz"
SHARED = ROOT.parent / "shared"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")


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


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database on the local server (127.0.0.1:5432), dropped after.

    The server's `test` database outlives runs and branches (its schema may be newer
    than this checkout's migrations), so each run gets its own database.
    """
    import uuid

    import sqlalchemy as sa

    admin_url = os.environ.get(
        "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    name = f"rasa_test_{uuid.uuid4().hex[:12]}"
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

"""The tracker store follows DATABASE_URL: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import os
import stat
import uuid

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.storage.tracker_store import ConfiguredSQLTrackerStore
from tests.conftest import ROOT


def _domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


async def _round_trip(store: ConfiguredSQLTrackerStore, domain: Domain) -> None:
    sender = f"test-{uuid.uuid4()}"
    tracker = DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen"),
            UserUttered("what is klonopin?", {"name": "faq", "confidence": 0.97}),
            BotUttered("Klonopin is the brand name of clonazepam."),
        ],
        domain.slots,
    )
    await store.save(tracker)
    again = await store.retrieve(sender)
    assert again is not None
    assert [e.as_dict()["event"] for e in again.events][-2:] == ["user", "bot"]
    assert again.latest_message.text == "what is klonopin?"
    assert sender in await store.keys()


async def test_default_is_a_sqlite_file(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("bot.settings.DEFAULT_SQLITE_PATH", tmp_path / "tracker.db")
    domain = _domain()
    store = ConfiguredSQLTrackerStore(domain=domain)
    assert store.engine.url.drivername == "sqlite"
    await _round_trip(store, domain)
    assert (tmp_path / "tracker.db").stat().st_size > 0


async def test_database_url_switches_to_postgresql_without_code_changes(monkeypatch, postgres_url):
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    domain = _domain()
    store = ConfiguredSQLTrackerStore(domain=domain)
    assert store.engine.url.drivername.startswith("postgresql")
    await _round_trip(store, domain)
    store.engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/explicit.db"])
async def test_explicit_url_in_endpoints_wins(tmp_path, monkeypatch, url, postgres_url):
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    store = ConfiguredSQLTrackerStore(domain=_domain(), host=url.format(tmp=tmp_path))
    assert store.engine.url.drivername == "sqlite"


async def test_tracker_store_errors_fail_the_request_once_made_loud(caplog):
    """Rasa's FailSafeTrackerStore hides database errors (no tracker; saved in memory);
    fail_loudly makes them propagate, so the channel answers 503 and nothing answered
    goes unstored."""
    from types import SimpleNamespace

    from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.storage.tracker_store import fail_loudly

    class DatabaseDown(TrackerStore):
        async def retrieve(self, sender_id):
            raise ConnectionError("database down")

        async def save(self, tracker):
            raise ConnectionError("database down")

        async def keys(self):
            raise ConnectionError("database down")

    store = FailSafeTrackerStore(DatabaseDown(Domain.empty()))
    tracker = DialogueStateTracker("someone", [])
    assert await store.retrieve("someone") is None, "Rasa's default: the error is hidden"
    await store.save(tracker)  # and the tracker goes to memory

    agent = SimpleNamespace(tracker_store=store)
    assert fail_loudly(agent) is True
    assert fail_loudly(agent) is False, "installed once"
    with caplog.at_level("ERROR", logger="bot.storage.tracker_store"):
        with pytest.raises(ConnectionError):
            await store.retrieve("someone")
        with pytest.raises(ConnectionError):
            await store.save(tracker)
    assert "Tracker store unavailable (ConnectionError)" in caplog.text
    assert fail_loudly(SimpleNamespace(tracker_store=None)) is False


@pytest.fixture
def wide_umask():
    """The usual umask (022): without explicit modes, files would be world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("pre_existing", [False, True])
async def test_the_database_is_readable_only_by_its_owner(
    monkeypatch, tmp_path, wide_umask, pre_existing
):
    """Every message and the staff password hashes are in this file: 600 in a 700 var/."""
    var = tmp_path / "var"
    if pre_existing:
        var.mkdir(mode=0o755)
        (var / "log").mkdir(mode=0o755)
        (var / "log" / "rasa.log").write_text("started\n")
        (var / "tracker.db-journal").write_bytes(b"")
        for path in (var / "log" / "rasa.log", var / "tracker.db-journal"):
            path.chmod(0o644)
        var.chmod(0o755)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("bot.settings.DEFAULT_SQLITE_PATH", var / "tracker.db")
    domain = _domain()
    store = ConfiguredSQLTrackerStore(domain=domain)
    await _round_trip(store, domain)
    assert _mode(var) == 0o700
    assert _mode(var / "tracker.db") == 0o600
    for path in var.glob("tracker.db-*"):
        assert _mode(path) == 0o600, path.name
    if pre_existing:
        assert _mode(var / "log") == 0o700 and _mode(var / "log" / "rasa.log") == 0o600
    store.engine.dispose()


@pytest.mark.parametrize("pre_existing", [False, True])
def test_our_tables_database_is_readable_only_by_its_owner(
    monkeypatch, tmp_path, wide_umask, pre_existing
):
    from bot.storage import db

    var = tmp_path / "var"
    database = var / "tracker.db"
    if pre_existing:
        var.mkdir(mode=0o755)
        var.chmod(0o755)
        database.write_bytes(b"")
        database.chmod(0o644)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("bot.settings.DEFAULT_SQLITE_PATH", database)
    url = f"sqlite:///{database}"
    try:
        with db.session_scope() as session:
            session.execute(sa.text("select 1"))
        assert _mode(var) == 0o700 and _mode(database) == 0o600
    finally:
        db._engines.pop(url).dispose()


def test_a_directory_chosen_elsewhere_is_not_changed_but_the_file_is_private(tmp_path, wide_umask):
    """DATABASE_URL=sqlite:////shared/dir/x.db: the file is private, the directory is left."""
    from bot.storage.files import secure_sqlite

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    assert secure_sqlite(f"sqlite:///{shared / 'x.db'}", tmp_path / "var") == shared / "x.db"
    assert _mode(shared) == 0o755 and _mode(shared / "x.db") == 0o600
    assert secure_sqlite(f"sqlite:///{tmp_path / 'new' / 'x.db'}", tmp_path / "var")
    assert _mode(tmp_path / "new") == 0o700
    assert secure_sqlite("postgresql://u@127.0.0.1/db") is None
    assert secure_sqlite("sqlite://") is None

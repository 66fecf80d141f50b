"""Conversation references (``bot.handoff.redact``): keyed, full length, shared, collision-safe.

An SMS conversation id is a phone number; its reference is in logs, audit entries and
console URLs. Without the deployment's key nobody can recompute it (a US number is found
in seconds from an unkeyed hash) or search for a collision offline.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import handoff, settings
from bot.handoff import redact
from bot.settings import ConfigError, conversation_ref_key
from bot.staff import transcripts as tr
from bot.storage import db
from bot.storage.models import ConversationIndex
from tests.conftest import ROOT, fresh_database
from tests.test_console_transcripts import EVENTS, add, make_db, user

PHONE = "+15551234567"
KEY_A = "a" * 64
KEY_B = "b" * 64


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def url(db_url):
    return make_db(db_url)


def test_a_reference_cannot_be_recomputed_without_the_key(monkeypatch):
    monkeypatch.setenv("CONVERSATION_REF_KEY", KEY_A)
    ref_a = redact(PHONE)
    monkeypatch.setenv("CONVERSATION_REF_KEY", KEY_B)
    ref_b = redact(PHONE)
    assert ref_a != ref_b
    unkeyed = hashlib.sha256(PHONE.encode()).hexdigest()
    assert ref_a != "conv-" + unkeyed[:12] and unkeyed[:12] not in ref_a
    assert unkeyed not in ref_a
    # Full length: 256 bits, no offline collision search.
    expected = hmac.new(KEY_A.encode(), PHONE.encode(), hashlib.sha256).hexdigest()
    assert ref_a == "conv-" + expected and len(ref_a) == 5 + 64
    assert len(ref_a) <= tr.REF_MAX_CHARS


def test_a_short_key_is_refused_and_never_replaced_by_an_unkeyed_hash(monkeypatch, caplog):
    monkeypatch.setenv("CONVERSATION_REF_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        conversation_ref_key()
    monkeypatch.setattr(handoff, "_fallback_key", None)  # restored after the test
    with caplog.at_level(logging.ERROR):
        ref = redact(PHONE)
    assert ref != "conv-" + hashlib.sha256(PHONE.encode()).hexdigest()[:12]
    assert ref != "conv-" + hmac.new(b"short", PHONE.encode(), hashlib.sha256).hexdigest()
    assert "CONVERSATION_REF_KEY" in caplog.text and PHONE not in caplog.text


KEY_PROGRAM = """
import sys, time
from pathlib import Path
start = float(sys.argv[2])
while time.time() < start:  # every process reaches the key file at the same moment
    pass
from bot.settings import conversation_ref_key
print(conversation_ref_key(Path(sys.argv[1])).hex())
"""


def test_processes_racing_to_create_the_key_file_all_get_the_same_key(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVERSATION_REF_KEY", raising=False)
    env = {k: v for k, v in os.environ.items() if k != "CONVERSATION_REF_KEY"}
    key_file = tmp_path / "var" / "secret-ref-key"
    start = time.time() + 3
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", KEY_PROGRAM, str(key_file), str(start)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert conversation_ref_key(key_file).hex() == key_file.read_text().strip()
    assert mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    assert [p.name for p in key_file.parent.iterdir()] == ["secret-ref-key"]  # no leftovers


def test_an_existing_key_file_is_kept_and_tightened(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVERSATION_REF_KEY", raising=False)
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    key_file = var / "secret-ref-key"
    key_file.write_text("ab" * 32 + "\n")
    key_file.chmod(0o644)
    assert conversation_ref_key(key_file) == bytes.fromhex("ab" * 32)
    assert mode(key_file) == 0o600 and mode(var) == 0o700


def test_a_damaged_key_file_is_an_error_not_a_new_key(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVERSATION_REF_KEY", raising=False)
    key_file = tmp_path / "var" / "secret-ref-key"
    key_file.parent.mkdir()
    key_file.write_text("not hex")
    with pytest.raises(ConfigError, match="64 hex"):
        conversation_ref_key(key_file)


def test_the_rasa_server_action_server_console_and_cli_share_references():
    """Separate processes of this checkout compute the same reference (the same key)."""
    program = "from bot.handoff import redact; import sys; print(redact(sys.argv[1]))"
    out = subprocess.run(
        [sys.executable, "-c", program, PHONE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == redact(PHONE)
    if not os.environ.get("CONVERSATION_REF_KEY") and not os.environ.get("SECRET_KEY"):
        assert mode(settings.DEFAULT_SECRET_FILE) == 0o600
        assert mode(settings.DEFAULT_SECRET_FILE.parent) == 0o700


def test_a_collision_does_not_stop_indexing_later_conversations(url, monkeypatch, caplog):
    # Every id gets the same reference: the worst case of a collision.
    monkeypatch.setattr(tr, "redact", lambda conversation_id: "conv-" + "0" * 64)
    add(url, "alice", user("hello"))
    add(url, PHONE, user("my number is private", channel="twilio"))
    with caplog.at_level(logging.WARNING):
        assert tr.refresh_index(url) == 2
    add(url, "carol", user("later"))
    assert tr.refresh_index(url) == 1
    refs = {cid: tr.ref_for(cid, url) for cid in ("alice", PHONE, "carol")}
    assert len(set(refs.values())) == 3
    for cid, ref in refs.items():
        assert tr.conversation_by_ref(ref, url)["conversation_id"] == cid
        assert ref.startswith("conv-") and len(ref) <= tr.REF_MAX_CHARS
    # New events keep each conversation's reference (stable console URLs).
    add(url, PHONE, user("again", channel="twilio"))
    assert tr.refresh_index(url) == 1
    assert tr.ref_for(PHONE, url) == refs[PHONE]
    assert tr.export_json(PHONE, url)["conversation"]["ref"] == refs[PHONE]
    assert "collision" in caplog.text
    assert PHONE not in caplog.text and "alice" not in caplog.text


def test_a_new_key_rebuilds_every_reference_in_the_index(url, monkeypatch):
    monkeypatch.setenv("CONVERSATION_REF_KEY", KEY_A)
    add(url, PHONE, user("hi", channel="twilio"))
    old = tr.ref_for(PHONE)
    assert tr.conversation_by_ref(old, url)["conversation_id"] == PHONE
    monkeypatch.setenv("CONVERSATION_REF_KEY", KEY_B)
    assert tr.refresh_index(url) == 1
    new = tr.ref_for(PHONE)
    assert new != old and tr.ref_for(PHONE, url) == new
    assert tr.conversation_by_ref(old, url) is None
    assert tr.conversation_by_ref(new, url)["conversation_id"] == PHONE


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path):
    """An empty database of each kind, migrated later by the test."""
    if request.param == "sqlite":
        target = f"sqlite:///{tmp_path / 'old.db'}"
        yield target
        engine = db._engines.pop(target, None)
        if engine is not None:
            engine.dispose()
    else:
        with fresh_database("rasa_refs") as target:
            yield target


def test_the_migration_widens_the_column_and_drops_old_references(old_database):
    target = old_database
    db.upgrade(target, "0004_sms")
    engine = sa.create_engine(target)
    EVENTS.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO conversation_index VALUES (:cid, :ref, 'twilio', :t, :t, 'none',"
                " 0, 1, ' ', '', 1)"
            ),
            {
                "cid": PHONE,
                "ref": "conv-" + hashlib.sha256(PHONE.encode()).hexdigest()[:12],
                "t": "2025-11-23 12:00:00",
            },
        )
    engine.dispose()
    add(target, PHONE, user("hi", channel="twilio"))  # get_engine migrates to head
    columns = sa.inspect(db.get_engine(target)).get_columns("conversation_index")
    assert {c["name"]: c["type"] for c in columns}["ref"].length == tr.REF_MAX_CHARS
    assert tr.conversation_by_ref(tr.ref_for(PHONE), target)["conversation_id"] == PHONE
    with db.session_scope(target) as session:
        assert [r.ref for r in session.query(ConversationIndex)] == [redact(PHONE)]

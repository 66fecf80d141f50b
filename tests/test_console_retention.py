"""Retention: the admin's number of days, and what a run deletes and keeps."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from bot.handoff import claim_handoff, record_handoff, resolve_handoff
from bot.staff import audit, retention
from bot.staff import transcripts as tr
from bot.storage.db import session_scope
from bot.storage.models import (
    ConversationIndex,
    ConversationMeta,
    ConversationNote,
    Handoff,
    Notification,
)
from tests.test_console_transcripts import EVENTS, add, bot, make_db, user

DAY = 86_400.0


@pytest.fixture
def url(db_url):
    return make_db(db_url)


def _handoff(url: str, cid: str) -> int:
    row, _ = record_handoff(cid, "crisis", ["suicidal_ideation"], [], "trigger", "rest", url=url)
    with session_scope(url) as session:
        session.add(Notification(handoff_id=row["id"], notifier="email", ok=True, detail="sent"))
    return row["id"]


def _events(url: str, cid: str) -> int:
    with tr.get_engine(url).connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(EVENTS).where(EVENTS.c.sender_id == cid)
        ).scalar()


def _count(url: str, model, cid: str) -> int:
    with session_scope(url) as session:
        return session.query(model).filter(model.conversation_id == cid).count()


def _notifications(url: str) -> int:
    with session_scope(url) as session:
        return session.query(Notification).count()


# ---------------------------------------------------------------------------------------
# The setting
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("days", [0, -1, 3651, 10**6, True, "30", 30.0, None])
def test_retention_days_out_of_bounds_or_not_a_whole_number_are_refused(db_url, days):
    with pytest.raises(ValueError, match="between 1 and 3650"):
        retention.set_retention_days(days, "admin", url=db_url)
    assert retention.retention_days(db_url) is None


def test_retention_days_are_stored_and_the_change_is_audited(db_url):
    assert retention.retention_days(db_url) is None
    retention.set_retention_days(1, "admin", url=db_url)
    assert retention.retention_days(db_url) == 1
    retention.set_retention_days(3650, "root", url=db_url)
    assert retention.retention_days(db_url) == 3650
    changes = [e for e in audit.entries(url=db_url) if e["action"] == "retention_set"]
    assert [(e["actor"], e["detail"]) for e in changes] == [
        ("root", "3650 days"),
        ("admin", "1 days"),
    ]


# ---------------------------------------------------------------------------------------
# A run
# ---------------------------------------------------------------------------------------
@pytest.fixture
def history(url):
    """Old and recent conversations with the things that make retention keep them."""
    now = time.time()
    old, recent = now - 100 * DAY, now - 5 * DAY
    add(url, "old", user("what is klonopin"), bot("Clonazepam is..."), at=old)
    add(url, "old_flagged", user("i feel hopeless", level="concern"), at=old)
    add(url, "old_open", user("i want to die", level="crisis"), at=old)
    add(url, "old_claimed", user("i want to die", level="crisis"), at=old)
    add(url, "recent", user("hello", "greet"), at=recent)
    resolve_handoff(_handoff(url, "old"), "kim", "safe now", url=url)
    tr.add_note("old", "kim", "Called back.", url=url)
    tr.set_tags("old", ["follow-up"], url=url)
    tr.set_flag("old_flagged", True, "kim", url=url)
    resolve_handoff(_handoff(url, "old_flagged"), "kim", "safe now", url=url)
    _handoff(url, "old_open")
    claim_handoff(_handoff(url, "old_claimed"), "kim", url=url)
    tr.add_note("recent", "kim", "New client.", url=url)
    return url


KEPT = ("old_flagged", "old_open", "old_claimed", "recent")


def test_without_a_setting_nothing_is_deleted(history):
    result = retention.apply_retention(url=history)
    assert result == {"days": None, "conversations": 0, "events": 0, "dry_run": False}
    assert _events(history, "old") == 2
    assert not [e for e in audit.entries(url=history) if e["action"] == "retention_run"]


def test_a_dry_run_counts_without_deleting(history):
    retention.set_retention_days(30, "admin", url=history)
    result = retention.apply_retention(dry_run=True, url=history)
    assert (result["days"], result["conversations"], result["dry_run"]) == (30, 1, True)
    assert _events(history, "old") == 2
    assert _count(history, ConversationNote, "old") == 1
    assert _count(history, Handoff, "old") == 1
    assert tr.conversation_by_ref(tr.ref_for("old"), history) is not None
    assert not [e for e in audit.entries(url=history) if e["action"] == "retention_run"]


def test_a_run_deletes_old_unflagged_conversations_and_keeps_the_rest(history):
    retention.set_retention_days(30, "admin", url=history)
    notifications = _notifications(history)
    result = retention.apply_retention(url=history)
    assert result == {"days": 30, "conversations": 1, "events": 2, "dry_run": False}

    assert _events(history, "old") == 0
    for model in (ConversationIndex, ConversationNote, ConversationMeta, Handoff):
        assert _count(history, model, "old") == 0, model
    assert _notifications(history) == notifications - 1
    assert tr.conversation_by_ref(tr.ref_for("old"), history) is None

    for cid in KEPT:
        assert _events(history, cid) == 1, cid
        assert _count(history, ConversationIndex, cid) == 1, cid
    assert _count(history, Handoff, "old_flagged") == 1  # resolved, but flagged: kept
    assert _count(history, Handoff, "old_open") == 1
    assert _count(history, Handoff, "old_claimed") == 1
    assert _count(history, ConversationNote, "recent") == 1
    assert _count(history, ConversationMeta, "old_flagged") == 1

    runs = [e for e in audit.entries(url=history) if e["action"] == "retention_run"]
    assert len(runs) == 1 and runs[0]["actor"] == "retention"
    assert runs[0]["detail"] == "1 conversations, 2 events older than 30 days"
    assert "old" not in runs[0]["target"]

    again = retention.apply_retention(url=history)
    assert (again["conversations"], again["events"]) == (0, 0)


def test_days_given_to_the_run_override_the_setting(history):
    retention.set_retention_days(3650, "admin", url=history)
    assert retention.apply_retention(dry_run=True, url=history)["conversations"] == 0
    result = retention.apply_retention(days=1, dry_run=True, url=history)
    assert (result["days"], result["conversations"]) == (1, 2)  # old and recent


def test_a_person_who_writes_again_during_the_run_keeps_the_new_messages(history, monkeypatch):
    """Selected as expired; then a new message (and the handoff it opens) came in."""
    select = retention.expired_conversations
    new = {}

    def selected_then_a_message_arrives(days, url=None):
        ids = select(days, url)
        add(history, "old", user("i want to kill myself", level="crisis"), at=time.time())
        new["handoff"] = _handoff(history, "old")
        return ids

    monkeypatch.setattr(retention, "expired_conversations", selected_then_a_message_arrives)
    result = retention.apply_retention(days=30, url=history)
    assert (result["conversations"], result["events"]) == (1, 2)
    assert _events(history, "old") == 1  # the new message
    with session_scope(history) as session:
        ids = [h.id for h in session.query(Handoff).filter_by(conversation_id="old")]
    assert ids == [new["handoff"]]  # the resolved one went, the pending one stays
    assert tr.refresh_index(history) == 1
    assert tr.conversation_by_ref(tr.ref_for("old"), history)["max_level"] == "crisis"

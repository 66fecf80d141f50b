"""Staff accounts (argon2id), the add-user command and the append-only audit log."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from bot.staff import audit
from bot.staff.accounts import AccountError, add_user, authenticate
from bot.storage.db import get_engine
from tests.conftest import ROOT

GOOD = "violet harbour quill"


def test_password_is_stored_as_an_argon2id_hash_and_verified(db_url):
    user = add_user("nurse.kim", GOOD, "Kim (RN)", "staff")
    assert user["role"] == "staff"
    with get_engine(db_url).connect() as conn:
        stored = conn.execute(sa.text("select password_hash from staff_users")).scalar()
    assert stored.startswith("$argon2id$") and GOOD not in stored
    assert authenticate("Nurse.Kim", GOOD)["display_name"] == "Kim (RN)"
    assert authenticate("nurse.kim", GOOD + "x") is None
    assert authenticate("nobody", GOOD) is None


@pytest.mark.parametrize(
    "username, password, role, message",
    [
        ("x", GOOD, "staff", "username"),
        ("bad name", GOOD, "staff", "username"),
        ("kim", "short", "staff", "at least"),
        ("kim", "", "staff", "at least"),
        ("kim", GOOD, "root", "role"),
        ("kim", " " + GOOD, "staff", "spaces"),
    ],
)
def test_bad_accounts_are_refused(db_url, username, password, role, message):
    with pytest.raises(AccountError, match=message):
        add_user(username, password, "", role)


def test_usernames_are_unique(db_url):
    add_user("admin1", GOOD, "Admin", "admin")
    with pytest.raises(AccountError, match="taken"):
        add_user("ADMIN1", GOOD, "Other", "staff")


def test_add_user_command_reads_the_password_from_stdin_and_has_no_default(db_url):
    run = [sys.executable, "-m", "bot", "staff", "add-user", "dr.lee", "--role", "admin"]
    ok = subprocess.run(
        [*run, "--name", "Dr Lee", "--password-stdin"],
        input=GOOD + "\n",
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert authenticate("dr.lee", GOOD)["role"] == "admin"
    empty = subprocess.run(
        [*run[:-2], "--password-stdin"], input="\n", cwd=ROOT, capture_output=True, text=True
    )
    assert empty.returncode == 2 and "at least" in empty.stderr


def test_audit_log_appends_and_lists_newest_first(db_url):
    first = audit.record("dr.lee", "view_transcript", "conv-1")
    second = audit.record("dr.lee", "export", "conv-1", "json")
    rows = audit.entries()
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["action"] == "export"
    with pytest.raises(ValueError):
        audit.record("", "view_transcript")
    assert not hasattr(audit, "delete") and not hasattr(audit, "update")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("q=15550103457", "q=[number]"),
        ("called +1 (555) 010-0199 at 3pm", "called [number] at 3pm"),
        ("whatsapp:+15550100123", "whatsapp:[number]"),
        ("mail kim@example.org please", "mail [email] please"),
        ("from=2026-11-01&to=2026-11-23", "from=2026-11-01&to=2026-11-23"),
        ("handoff 12 (crisis), 1600 characters", "handoff 12 (crisis), 1600 characters"),
        ("conv-1234567a9d9d", "conv-1234567a9d9d"),
        ("198.51.100.23", "198.51.100.23"),
        ("555 123 4567", "[number]"),
    ],
)
def test_audit_entries_never_hold_contact_details(db_url, text, expected):
    from bot.staff import audit

    audit.record("kim", "note", text, text, url=db_url)
    entry = audit.entries(1, url=db_url)[0]
    assert entry["target"] == expected[:255] and entry["detail"] == expected


def test_display_names_are_unique_because_claims_are_signed_with_them(db_url):
    add_user("kim", GOOD, "Kim (RN)", url=db_url)
    with pytest.raises(AccountError, match="already used"):
        add_user("kim2", GOOD, "kim (rn)", url=db_url)

"""The real action server and Rasa server, talked to over HTTP."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from bot.settings import clinic_config

pytestmark = [pytest.mark.model, pytest.mark.servers]


def test_what_is_klonopin_is_answered_with_clonazepam_and_its_sources(stack):
    answer = stack.say_text("patient-a", "what is klonopin?")
    assert "clonazepam" in answer.lower()
    assert "Sources:" in answer


def test_how_to_get_off_klonopin_points_to_a_supervised_taper(stack):
    answer = stack.say_text("patient-b", "how do I get off klonopin").lower()
    assert "taper" in answer
    assert "prescriber" in answer
    assert not any(unit in answer for unit in (" mg", "milligram", "%"))


def test_talk_to_staff_goes_through_the_action_server(stack):
    answer = stack.say_text("patient-c", "can i talk to someone at the clinic please")
    cfg = clinic_config()
    assert cfg.clinic.phone in answer
    assert cfg.clinic.name in answer


def test_out_of_scope_says_what_the_assistant_can_help_with(stack):
    answer = stack.say_text("patient-d", "what's the best pizza topping")
    assert "clonazepam" in answer.lower()


def test_http_api_needs_the_token(stack):
    status, _ = stack.get("/status", token=False)
    assert status in (401, 403)
    status, body = stack.get("/status")
    assert status == 200
    assert "model_id" in body


def test_conversation_is_stored_in_the_sqlite_tracker_store(stack):
    sender = f"patient-{uuid.uuid4().hex[:8]}"
    stack.say_text(sender, "what are the side effects of clonazepam")
    events = stack.tracker(sender)["events"]
    assert any(e.get("text") == "what are the side effects of clonazepam" for e in events)
    with sqlite3.connect(stack.db_path) as conn:
        rows = conn.execute("select count(*) from events where sender_id = ?", (sender,)).fetchone()
    assert rows[0] >= 3

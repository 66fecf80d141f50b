"""Handoff creation cannot be flooded (issue 12, Medium 6).

A crisis message is always answered and never rate-limited, so one person rotating
sender ids could once fill the staff queue with emergency handoffs. Now new
conversations from one client address within ``HANDOFF_BURST_MINUTES`` share one queue
entry (bot.handoff.record_handoff ``source_key``); the patient still gets the crisis reply.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from bot.handoff import claim_handoff, list_handoffs, open_handoff_for, record_handoff, redact
from bot.limits import CLIENT_ADDRESS_KEY, address_key
from bot.staff.app import queue_items


def test_rotating_conversations_from_one_address_share_one_queue_entry(db_url, monkeypatch):
    monkeypatch.setenv("HANDOFF_BURST_MINUTES", "10")
    attacker, patient = address_key("203.0.113.7"), address_key("198.51.100.2")
    first, created = record_handoff(
        "atk-0", "emergency", ["overdose"], [], "x", source_key=attacker
    )
    assert created
    for i in range(1, 30):
        level = "crisis" if i % 2 else "emergency"
        handoff, created = record_handoff(f"atk-{i}", level, ["x"], [], "x", source_key=attacker)
        # Recorded (claimable on its own page) but grouped: nobody is paged for it.
        assert not created and handoff["grouped"] and handoff["grouped_with"] == first["id"]
    real, created = record_handoff("pt-1", "crisis", ["suicidal"], [], "x", source_key=patient)
    assert created, "another address opens its own entry"
    queue = queue_items()
    assert [item["id"] for item in queue] == [first["id"], real["id"]], "two queue entries"
    assert len(queue[0]["grouped"]) == 29
    assert {g["ref"] for g in queue[0]["grouped"]} == {redact(f"atk-{i}") for i in range(1, 30)}
    refs = [e["text"] for e in queue[0]["evidence"] if e.get("category") == "same_address"]
    assert refs and redact("atk-29") in refs[-1]


def test_a_grouped_patient_can_still_be_claimed(db_url, monkeypatch):
    """Outside review: a real patient's crisis behind the same address as a flood once had
    no handoff of its own and could not be claimed. Now it has one."""
    monkeypatch.setenv("HANDOFF_BURST_MINUTES", "10")
    shared = address_key("203.0.113.60")
    record_handoff("atk-1", "emergency", ["x"], [], "x", source_key=shared)
    mine, _ = record_handoff("pt-victim", "emergency", ["overdose"], [], "x", source_key=shared)
    assert open_handoff_for("pt-victim")["id"] == mine["id"]
    claimed = claim_handoff(mine["id"], "Sam (RN)")
    assert claimed["status"] == "claimed" and claimed["conversation_id"] == "pt-victim"


def test_a_worse_alarm_never_hides_in_a_lesser_grouped_entry(db_url, monkeypatch):
    """Someone flooding at crisis level from a shared address cannot absorb an emergency
    from the same address: it opens its own queue entry (and pages)."""
    monkeypatch.setenv("HANDOFF_BURST_MINUTES", "10")
    shared = address_key("203.0.113.50")
    flood, _ = record_handoff("atk-0", "crisis", ["x"], [], "x", source_key=shared)
    assert record_handoff("atk-1", "crisis", ["x"], [], "x", source_key=shared)[0]["grouped"]
    emergency, created = record_handoff(
        "pt-9", "emergency", ["overdose"], [], "x", source_key=shared
    )
    assert created and emergency["id"] != flood["id"] and emergency["level"] == "emergency"


def test_without_an_address_or_with_the_guard_off_each_conversation_opens_its_own(
    db_url, monkeypatch
):
    monkeypatch.setenv("HANDOFF_BURST_MINUTES", "10")
    for i in range(3):
        assert record_handoff(f"na-{i}", "crisis", [], [], "x", source_key=None)[1]
    monkeypatch.setenv("HANDOFF_BURST_MINUTES", "0")
    key = address_key("203.0.113.9")
    for i in range(3):
        assert record_handoff(f"off-{i}", "crisis", [], [], "x", source_key=key)[1]
    assert len(list_handoffs()) == 6


@pytest.mark.model
@pytest.mark.servers
def test_the_channel_sets_the_address_key_whatever_the_client_sends(stack):
    sender = f"pt-{uuid.uuid4().hex[:8]}"
    body = json.dumps(
        {
            "sender": sender,
            "message": "what is klonopin?",
            "metadata": {CLIENT_ADDRESS_KEY: "chosen-by-the-client", "page": "faq"},
        }
    ).encode()
    req = urllib.request.Request(
        f"{stack.base}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        assert r.status == 200
    [user] = [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    assert user["metadata"][CLIENT_ADDRESS_KEY] == address_key("127.0.0.1")
    assert user["metadata"]["page"] == "faq", "the client's own metadata is kept"

"""Shared helpers for the safety actions: reading the assessment the SafetyScreen stored."""

from __future__ import annotations

from typing import Any, Dict

from rasa_sdk import Tracker

LEVEL_ORDER = {"none": 0, "concern": 1, "crisis": 2, "emergency": 3}


def latest_assessment(tracker: Tracker) -> Dict[str, Any]:
    """The safety assessment of the latest user message (level, categories, evidence)."""
    safety = (tracker.latest_message or {}).get("safety") or {}
    return {
        "level": safety.get("level", "none"),
        "categories": list(safety.get("categories") or []),
        "evidence": list(safety.get("evidence") or []),
        "variant": safety.get("variant"),
    }


def higher_level(a: str, b: str) -> str:
    """The more severe of two levels."""
    return a if LEVEL_ORDER.get(a or "none", 0) >= LEVEL_ORDER.get(b or "none", 0) else b


def channel_of(tracker: Tracker) -> str:
    """The channel the patient is using (rest, socketio, twilio...)."""
    return tracker.get_latest_input_channel() or "unknown"

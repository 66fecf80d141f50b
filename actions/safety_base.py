"""Shared helpers for the safety actions: the assessment of the message and the conversation."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.crisis import LEVEL_ORDER, crisis_message, crisis_payload, variant_for
from bot.settings import ClinicConfig

# Channels whose client shows the crisis resources as a pinned panel (the web widget).
CRISIS_PANEL_CHANNELS = frozenset({"socketio"})


def user_texts(tracker: Tracker) -> List[str]:
    """The conversation's user messages, in order."""
    return [
        e.get("text") or ""
        for e in tracker.events
        if e.get("event") == "user" and isinstance(e.get("text"), str)
    ]


def latest_assessment(tracker: Tracker) -> Dict[str, Any]:
    """What the safety layer knows now: the latest message, raised by the conversation.

    The SafetyScreen stored the message's own assessment; the conversation (weak signals
    across turns, "tonight" after earlier ideation...) can only raise the level, and
    when it does, the reasons are added to the evidence so staff can see why.
    """
    from bot.safety import assess_conversation

    safety = (tracker.latest_message or {}).get("safety") or {}
    level = safety.get("level", "none")
    categories = list(safety.get("categories") or [])
    evidence = list(safety.get("evidence") or [])
    risk = assess_conversation(user_texts(tracker))
    if LEVEL_ORDER[risk.level.value] > LEVEL_ORDER.get(level, 0):
        level = risk.level.value
        categories += [c for c in risk.categories if c not in categories]
        evidence += [
            {"pattern": "conversation", "category": "conversation", "level": level, "text": r}
            for r in risk.reasons
        ]
    variant = safety.get("variant") if level == safety.get("level") else None
    return {
        "level": level,
        "categories": categories,
        "evidence": evidence,
        "variant": variant or variant_for(level, categories),
    }


def higher_level(a: str, b: str) -> str:
    """The more severe of two levels."""
    return a if LEVEL_ORDER.get(a or "none", 0) >= LEVEL_ORDER.get(b or "none", 0) else b


def channel_of(tracker: Tracker) -> str:
    """The channel the patient is using (rest, socketio, twilio...)."""
    return tracker.get_latest_input_channel() or "unknown"


def utter_crisis(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    level: str,
    variant: str,
    cfg: Optional[ClinicConfig] = None,
) -> None:
    """Send the crisis wording; on the web widget also the resources as data.

    On socket.io the same message carries ``custom: {"data": {"crisis": ...}}``: Rasa's
    SocketIOOutput sends the text as usual, then emits the custom JSON's keys as arguments
    of ``sio.emit``, so ``data`` is what the widget receives in a ``bot_uttered`` event.
    The widget pins tap-to-call and tap-to-text links until staff hand the conversation
    back. Other channels (REST, SMS) get exactly the text.
    """
    text = crisis_message(variant, cfg)
    if channel_of(tracker) in CRISIS_PANEL_CHANNELS:
        payload = {"data": {"crisis": crisis_payload(level, variant, cfg)}}
        dispatcher.utter_message(text=text, json_message=payload)
    else:
        dispatcher.utter_message(text=text)

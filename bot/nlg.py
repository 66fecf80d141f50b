"""Response generation that fills clinic details and crisis resources from configuration.

Domain responses say ``{clinic_name}``, ``{clinic_phone}``, ``{crisis_lines}`` and so on
instead of literal numbers, so the numbers live only in ``clinic.yml``. This runs inside
the Rasa server (no action server needed), which is what lets the crisis fallback
response reach a user even when the action server is down.
"""

from __future__ import annotations

from typing import Any, Dict

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from bot.settings import ClinicConfig, clinic_config


def response_variables(config: ClinicConfig | None = None) -> Dict[str, str]:
    """The placeholders every response may use, computed from the clinic file."""
    cfg = config or clinic_config()
    lines = "\n".join(f"• {r.name}: {r.how}" for r in cfg.resources)
    first = cfg.resources[0]
    return {
        "clinic_name": cfg.clinic.name,
        "clinic_phone": cfg.clinic.phone,
        "clinic_email": cfg.clinic.email,
        "clinic_hours": cfg.clinic.hours_text(),
        "emergency_number": cfg.emergency.tel or cfg.emergency.how,
        "emergency_how": cfg.emergency.how,
        "crisis_line": f"{first.name}: {first.how}",
        "crisis_line_name": first.name,
        "crisis_line_how": first.how,
        "crisis_lines": lines,
    }


class ClinicNLG(TemplatedNaturalLanguageGenerator):
    """Rasa's templated NLG plus the configuration placeholders above."""

    def __init__(self, endpoint_config: Any = None, domain: Any = None) -> None:
        """Signature Rasa uses for a custom NLG named in ``endpoints.yml``."""
        super().__init__(domain.responses if domain is not None else {})

    def generate_from_slots(
        self,
        utter_action: str,
        filled_slots: Dict[str, Any],
        output_channel: str,
        **kwargs: Any,
    ) -> Dict[str, Any] | None:
        """Fill slots as usual, plus the clinic and crisis placeholders."""
        return super().generate_from_slots(
            utter_action, filled_slots, output_channel, **{**response_variables(), **kwargs}
        )

    async def generate(
        self, utter_action: str, tracker: Any, output_channel: str, **kwargs: Any
    ) -> Dict[str, Any] | None:
        """As Rasa's; ``utter_handoff_fallback`` also records the staff handoff here.

        That response follows when ``action_staff_handoff`` failed (the action server is
        down, see SafetyPolicy): the Rasa server records the handoff itself, so staff are
        still alerted (the fault drill found none recorded before).
        """
        if utter_action == "utter_handoff_fallback":
            import asyncio

            await asyncio.to_thread(record_fallback_handoff, tracker)
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message and utter_action.startswith("utter_faq/"):
            message = with_offer_for_other_question(message, tracker)
        return message


def with_offer_for_other_question(message: Dict[str, Any], tracker: Any) -> Dict[str, Any]:
    """An FAQ answer to a two-question message, plus an offer of the other question.

    Issue 14: "two questions get the more specific answer and an offer for the other".
    The answer is the ResponseSelector's; :mod:`bot.question_parts` finds the question it
    left out. Never fails the answer: on any error the answer goes out as it was.
    """
    import logging

    from bot.question_parts import offer_for

    latest = tracker.latest_message
    text = (latest.text if latest is not None else "") or ""
    try:
        offer = offer_for(text, message.get("text") or "")
    except Exception as exc:  # the answer matters more than the offer
        logging.getLogger(__name__).warning("no offer for the other question: %s", exc)
        return message
    if offer is None:
        return message
    return {
        **message,
        "text": f"{message['text']}\n\n{offer.text}",
        "buttons": [*(message.get("buttons") or []), offer.button],
    }


def record_fallback_handoff(tracker: Any) -> bool:
    """Open (or escalate) the conversation's handoff from the Rasa server; never raises."""
    import logging

    from bot.handoff import redact
    from bot.limits import address_key_from_metadata
    from bot.notify import record_and_notify

    logger = logging.getLogger(__name__)
    try:
        latest = tracker.latest_message
        parse = (latest.parse_data if latest is not None else {}) or {}
        safety = parse.get("safety") or {}
        level = safety.get("level") if safety.get("level") in ("crisis", "emergency") else "crisis"
        handoff = record_and_notify(
            conversation_id=tracker.sender_id,
            level=level,
            categories=list(safety.get("categories") or []),
            evidence=list(safety.get("evidence") or []),
            trigger_text=(latest.text if latest is not None else "") or "",
            channel=tracker.get_latest_input_channel() or "unknown",
            # The flood guard holds when the action server is down too.
            source_key=address_key_from_metadata(getattr(latest, "metadata", None)),
        )
        logger.error(
            "action_staff_handoff failed for %s: handoff %s recorded by the Rasa server",
            redact(tracker.sender_id),
            handoff["id"],
        )
        return True
    except Exception as exc:
        logger.critical(
            "action_staff_handoff failed and the Rasa server could not record the handoff "
            "either (%s)",
            type(exc).__name__,
        )
        return False

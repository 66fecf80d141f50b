"""What a channel says when Rasa could not process a message (database or lock store down).

The assistant's crisis path runs inside Rasa; when Rasa cannot even load the
conversation, the channel itself answers. :func:`degraded_answer` screens the message
with the safety detector (pure Python, needs neither database nor Redis): on a crisis or
emergency it returns the crisis wording from clinic.yml and tries, best effort, to open
the staff handoff and notify staff (that works when only Redis is down); otherwise it
returns None and the channel says clearly that it is unavailable.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

from bot.limits import crisis_footer

logger = logging.getLogger(__name__)

UNAVAILABLE = "Sorry, the assistant is unavailable right now. Please try again in a minute."


def unavailable_text() -> str:
    """The reply to an ordinary message that could not be processed."""
    return f"{UNAVAILABLE} {crisis_footer()}"


def _open_handoff(
    sender: str, text: str, channel: str, assessment, source_key: Optional[str]
) -> dict:
    from bot.notify import record_and_notify

    return record_and_notify(
        conversation_id=sender,
        level=assessment.level.value,
        categories=list(assessment.categories),
        evidence=[dict(e) for e in assessment.evidence],
        trigger_text=text,
        channel=channel,
        source_key=source_key,
    )


async def degraded_answer(
    sender: str, text: str, channel: str, source_key: Optional[str] = None
) -> Optional[str]:
    """The crisis wording when ``text`` is a crisis or emergency, else None.

    Also opens (or escalates) the staff handoff when the database can be reached, with
    the client address's key (``source_key``) so the flood guard holds on this path too.
    Never raises.
    """
    from bot.handoff import redact

    try:
        from bot.crisis import crisis_message, variant_for
        from bot.safety import assess

        found = assess(text)
        level = found.level.value
        if level not in ("crisis", "emergency"):
            return None
        message = crisis_message(variant_for(level, list(found.categories)))
    except Exception:
        logger.exception("crisis fallback: screening failed")
        return None
    try:
        handoff = await asyncio.to_thread(_open_handoff, sender, text, channel, found, source_key)
        logger.error(
            "%s message from %s not processed (assistant unavailable): %s, crisis resources "
            "sent by the channel, handoff %s opened",
            channel,
            redact(sender),
            level,
            handoff["id"] if handoff else "?",
        )
    except Exception as exc:
        logger.critical(
            "%s message from %s not processed and NO HANDOFF could be recorded (%s): %s; "
            "crisis resources were sent by the channel",
            channel,
            redact(sender),
            type(exc).__name__,
            level,
        )
    return message

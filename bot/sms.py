"""SMS: carrier keywords, message splitting, numbered buttons, and our SMS tables.

No Rasa imports at module level (the operator CLI uses this); the Rasa channel that uses
it is :mod:`bot.channels.twilio_sms`. Phone numbers are the conversation ids of SMS
conversations: they are stored in the database (staff see them) but never logged, so log
lines use :func:`bot.handoff.redact`.
"""

from __future__ import annotations

import json
import re
from typing import List, Optional

from bot.storage.db import session_scope
from bot.storage.models import SmsContact, SmsDelivery, SmsInbound, utcnow

# Twilio accepts a body of up to 1600 characters per message.
MAX_SMS_CHARS = 1600

# Carrier keywords (CTIA; the same lists Twilio's default opt-out handling uses).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def keyword(text: str) -> Optional[str]:
    """ "stop", "start" or "help" when the whole message is a carrier keyword, else None.

    Only the whole message counts ("stop." is a keyword, "stop, I can't go on" is not:
    that goes through the safety screen like any message).
    """
    word = re.sub(r"[\s.!]+$", "", (text or "").strip()).upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def _cut(text: str, limit: int) -> int:
    """Where to end the first part of ``text`` (longer than ``limit``): the last paragraph
    break, else sentence end, else space in the window (not in its first half)."""
    window = text[: limit + 1]
    floor = limit // 2
    for pattern in (r"\n\s*\n", r"(?<=[.!?])\s+|\n", r"\s+"):
        ends = [m.start() for m in re.finditer(pattern, window) if floor <= m.start() <= limit]
        if ends:
            return ends[-1]
    return limit


def split_message(text: str, limit: int = MAX_SMS_CHARS) -> List[str]:
    """``text`` in parts of at most ``limit`` characters, cut at paragraph, sentence or
    word boundaries when there is one in the second half of a part."""
    text = (text or "").strip()
    parts: List[str] = []
    while len(text) > limit:
        cut = _cut(text, limit)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def render_buttons(text: str, buttons: List[dict]) -> str:
    """The message with its buttons as numbered choices: "...\\n1. Yes  2. No"."""
    options = "  ".join(
        f"{i}. {b.get('title') or b.get('payload', '')}" for i, b in enumerate(buttons, 1)
    )
    return f"{(text or '').rstrip()}\n\n{options}\n(Reply with the number.)".lstrip()


def choice_number(text: str) -> Optional[int]:
    """1, 2... when the message is just a number ("1", "2.", " 3) "), else None."""
    found = re.fullmatch(r"\s*#?(\d{1,2})\s*[.)]?\s*", text or "")
    return int(found.group(1)) if found else None


def help_text() -> str:
    """The reply to HELP: who we are, how to reach the clinic, the crisis line, STOP."""
    from bot.nlg import response_variables

    v = response_variables()
    return (
        f"{v['clinic_name']} recovery-support assistant. Clinic: {v['clinic_phone']}, "
        f"{v['clinic_email']}. In a crisis: {v['crisis_line']}. "
        f"In an emergency, {v['emergency_how']}. "
        "Reply STOP to unsubscribe. Msg & data rates may apply."
    )


def stop_text() -> str:
    """The one confirmation sent after STOP."""
    from bot.nlg import response_variables

    v = response_variables()
    return (
        f"You are unsubscribed from {v['clinic_name']} texts and will get no more messages. "
        f"Reply START to resubscribe. In a crisis: {v['crisis_line']}."
    )


def start_text() -> str:
    """The confirmation after START (or YES/UNSTOP) from an opted-out number."""
    from bot.nlg import response_variables

    v = response_variables()
    return (
        f"You are resubscribed to {v['clinic_name']} texts. "
        "Reply HELP for help, STOP to unsubscribe."
    )


def media_only_text() -> str:
    """The reply to a message with no text (a picture only)."""
    return "Sorry, I can only read text. Please type your message."


# --- per-number state --------------------------------------------------------------------


def _contact(session, phone: str) -> SmsContact:
    row = session.get(SmsContact, phone)
    if row is None:
        row = SmsContact(phone=phone, opted_out=False, updated_at=utcnow())
        session.add(row)
    return row


def is_opted_out(phone: str, url: str | None = None) -> bool:
    """Whether the number texted STOP (and not START since)."""
    with session_scope(url) as session:
        row = session.get(SmsContact, phone)
        return bool(row and row.opted_out)


def set_opted_out(phone: str, opted_out: bool, url: str | None = None) -> bool:
    """Record STOP (True) or START (False); returns whether the number was opted out."""
    with session_scope(url) as session:
        row = _contact(session, phone)
        before = bool(row.opted_out)
        now = utcnow()
        row.opted_out = opted_out
        if opted_out:
            row.opted_out_at = now
            row.buttons_json = None
        else:
            row.opted_in_at = now
        row.updated_at = now
        return before


def remember_buttons(phone: str, buttons: List[dict], url: str | None = None) -> None:
    """The buttons just offered to ``phone`` (a reply "1" means the first one's payload)."""
    keep = [{"title": b.get("title", ""), "payload": b.get("payload", "")} for b in buttons]
    with session_scope(url) as session:
        row = _contact(session, phone)
        row.buttons_json = json.dumps(keep)
        row.buttons_at = row.updated_at = utcnow()


def take_choice(phone: str, text: str, url: str | None = None) -> str:
    """The text to hand to the assistant for an inbound ``text``.

    A number that picks one of the buttons last offered becomes that button's payload.
    Any inbound message uses up the pending buttons (a later "1" is just "1").
    """
    with session_scope(url) as session:
        row = session.get(SmsContact, phone)
        if row is None or not row.buttons_json:
            return text
        buttons = json.loads(row.buttons_json)
        row.buttons_json = None
        row.updated_at = utcnow()
    number = choice_number(text)
    if number is not None and 1 <= number <= len(buttons):
        return buttons[number - 1]["payload"] or buttons[number - 1]["title"]
    return text


# --- inbound and deliveries --------------------------------------------------------------


class DuplicateMessage(Exception):
    """Twilio delivered a message we already have (same MessageSid)."""


def record_inbound(phone: str, body: str, message_sid: str | None, url: str | None = None) -> int:
    """Store an inbound SMS before anything processes it; its row id.

    Raises DuplicateMessage if a message with this MessageSid is already stored.
    """
    import sqlalchemy.exc

    try:
        with session_scope(url) as session:
            row = SmsInbound(
                phone=phone,
                message_sid=message_sid or None,
                body=body or "",
                status="received",
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return row.id
    except sqlalchemy.exc.IntegrityError as exc:
        raise DuplicateMessage(message_sid) from exc


def mark_inbound(row_id: int, status: str, error: str | None = None, url: str | None = None):
    """Set an inbound message's outcome (processed, failed, keyword, ignored)."""
    with session_scope(url) as session:
        row = session.get(SmsInbound, row_id)
        if row is not None:
            row.status = status
            row.error = error
            row.processed_at = utcnow()


def inbound_messages(
    phone: str | None = None, status: str | None = None, url: str | None = None
) -> List[dict]:
    """Stored inbound messages, oldest first."""
    with session_scope(url) as session:
        query = session.query(SmsInbound)
        if phone:
            query = query.filter(SmsInbound.phone == phone)
        if status:
            query = query.filter(SmsInbound.status == status)
        return [
            {
                "id": r.id,
                "phone": r.phone,
                "message_sid": r.message_sid,
                "body": r.body,
                "status": r.status,
                "error": r.error,
                "created_at": r.created_at.isoformat() if r.created_at else None,
            }
            for r in query.order_by(SmsInbound.id).all()
        ]


def record_delivery(
    phone: str,
    status: str,
    body: str,
    attempts: int = 0,
    error: str | None = None,
    twilio_sid: str | None = None,
    url: str | None = None,
) -> int:
    """Record one outgoing SMS. The body is kept only when it did not go out."""
    with session_scope(url) as session:
        row = SmsDelivery(
            phone=phone,
            status=status,
            body=None if status == "sent" else body,
            twilio_sid=twilio_sid,
            attempts=attempts,
            error=error,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return row.id


def deliveries(
    phone: str | None = None,
    statuses: tuple = ("sent", "failed", "suppressed"),
    limit: int = 200,
    url: str | None = None,
) -> List[dict]:
    """Outgoing SMS records, newest first."""
    with session_scope(url) as session:
        query = session.query(SmsDelivery).filter(SmsDelivery.status.in_(statuses))
        if phone:
            query = query.filter(SmsDelivery.phone == phone)
        rows = query.order_by(SmsDelivery.id.desc()).limit(limit).all()
        return [
            {
                "id": r.id,
                "phone": r.phone,
                "status": r.status,
                "body": r.body,
                "twilio_sid": r.twilio_sid,
                "attempts": r.attempts,
                "error": r.error,
                "created_at": r.created_at.isoformat() if r.created_at else None,
            }
            for r in rows
        ]


def failed_deliveries(limit: int = 200, url: str | None = None) -> List[dict]:
    """Messages that did not reach the patient: failed after retries, or suppressed
    because the number opted out. Newest first. For staff, not for logs (phone numbers)."""
    return deliveries(statuses=("failed", "suppressed"), limit=limit, url=url)

"""What a conversation id may be, and which channel owns it: the one definition.

A conversation id (Rasa's sender id) names a patient's conversation in the tracker store,
in our tables and in the URLs of Rasa's HTTP API that the staff console calls. Every
channel checks the id it is about to use here, and refuses anything else (400):

- it is 1 to ``max_chars`` (default 128) characters from ``A-Z a-z 0-9 . _ ~ - : @ +``,
  starting with a letter, a digit or ``+`` (phone numbers). No ``/``, ``%``, ``?``,
  ``#``, whitespace or non-ASCII, so an id is always one path segment and can never
  be ``.`` or ``..``
  (``pt-atk/../pt-victim-1`` once reached another patient's conversation through the
  console's URLs);
- each channel owns a namespace, so no channel can write into another channel's
  conversation (and make its own the one staff replies go to):

  ========  ===================================================  ======================
  channel   ids                                                  who chooses them
  ========  ===================================================  ======================
  sms       ``+15550100123``, ``whatsapp:+15550100123``          Twilio (the sender)
  socketio  ``web-`` and 32 hex digits                           the server, signed
  rest      anything else that is valid                          the client (tests, tools)
  ========  ===================================================  ======================

The web widget's ids are issued by the server and handed to the widget only inside a
signed session token (:mod:`bot.channels.web_sessions`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

DEFAULT_MAX_CHARS = 128
_VALID = re.compile(r"[A-Za-z0-9+][A-Za-z0-9._~:@+\-]*")
_SMS = re.compile(r"(?:whatsapp:)?\+[1-9][0-9]{5,14}")
_WEB = re.compile(r"web-[0-9a-f]{32}")
# Characters quote() may leave as they are inside one path segment: RFC 3986 pchar
# minus the sub-delimiters we never allow. Never "/".
_SEGMENT_SAFE = "-._~:@+"

SMS = "sms"
WEB = "socketio"
REST = "rest"


class InvalidConversationId(ValueError):
    """The id is not a valid conversation id, or not one this channel may use."""


def is_valid(conversation_id: Any, max_chars: int = DEFAULT_MAX_CHARS) -> bool:
    """Whether ``conversation_id`` is a well-formed conversation id (any channel)."""
    return (
        isinstance(conversation_id, str)
        and 0 < len(conversation_id) <= max_chars
        and _VALID.fullmatch(conversation_id) is not None
    )


def owner(conversation_id: str) -> str:
    """The channel whose namespace the id is in: ``sms``, ``socketio`` or ``rest``.

    By prefix, whatever the case: ``+...`` and ``whatsapp:...`` are SMS's, ``web-...`` the
    widget's, so a REST client cannot pick "WEB-<hex>" or "+015550100123", ids a staff
    member could mistake for a widget session or a patient's phone number.
    """
    low = conversation_id.lower()
    if low.startswith(("+", "whatsapp:")):
        return SMS
    if low.startswith("web-"):
        return WEB
    return REST


def check(conversation_id: Any, channel: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The id, if it is valid and in ``channel``'s namespace; else InvalidConversationId.

    ``channel`` is the input channel's name (``rest``, ``socketio``; ``twilio`` and any
    other SMS channel count as ``sms``).
    """
    if not isinstance(conversation_id, str) or not conversation_id:
        raise InvalidConversationId("The sender id must be a non-empty string.")
    if len(conversation_id) > max_chars:
        raise InvalidConversationId(f"The sender id is too long (at most {max_chars} characters).")
    if not is_valid(conversation_id, max_chars):
        raise InvalidConversationId(
            "The sender id may contain only letters, digits and . _ ~ - : @ + "
            "and must start with a letter, a digit or +."
        )
    wanted = SMS if channel in (SMS, "twilio") else channel
    if owner(conversation_id) != wanted and wanted in (SMS, WEB, REST):
        raise InvalidConversationId("This sender id belongs to another channel's conversations.")
    exact = {SMS: _SMS, WEB: _WEB}.get(wanted)
    if exact is not None and not exact.fullmatch(conversation_id):
        raise InvalidConversationId("This is not a well-formed id of this channel.")
    return conversation_id


def path_segment(conversation_id: Any) -> str:
    """The id quoted as one URL path segment, or InvalidConversationId.

    For ids read back from storage (the console addresses stored conversations): an id
    stored before these rules existed may be malformed, and must never be joined into a
    URL as it is.
    """
    if not is_valid(conversation_id, max_chars=10_000):
        raise InvalidConversationId("not a valid conversation id")
    return quote(conversation_id, safe=_SEGMENT_SAFE)

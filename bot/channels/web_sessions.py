"""Web widget sessions: issued by the server, signed, bound to the socket that holds them.

A widget conversation's id is ``web-`` + 32 random hex digits
(:mod:`bot.channels.conversation_ids`), chosen by the server. The widget never sees a
bare id it could have chosen: it gets a session token ``<id>.<signature>`` (HMAC-SHA256
with the deployment's ``web-session`` key, :func:`bot.settings.secret_key`) and sends
it back to resume the conversation after a reload. A token that does not verify (forged,
another channel's id, a phone number, an old unsigned id) is never resumed: the socket
gets a new session instead.

The token is the conversation's only credential: whoever holds it is the patient for
this chat, as with any session cookie. It lives in the widget's localStorage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any, Optional, Tuple

from bot.channels import conversation_ids

PURPOSE = "web-session"


def _key() -> bytes:
    from bot.settings import secret_key

    return secret_key(PURPOSE)


def _sign(conversation_id: str) -> str:
    digest = hmac.new(_key(), conversation_id.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def issue() -> Tuple[str, str]:
    """A new conversation id and its session token."""
    conversation_id = "web-" + secrets.token_hex(16)
    return conversation_id, f"{conversation_id}.{_sign(conversation_id)}"


def verify(token: Any) -> Optional[str]:
    """The conversation id a genuine session token names, else None."""
    if not isinstance(token, str) or len(token) > 200 or token.count(".") != 1:
        return None
    conversation_id, signature = token.split(".")
    if not conversation_ids.is_valid(conversation_id):
        return None
    if conversation_ids.owner(conversation_id) != conversation_ids.WEB:
        return None
    expected = _sign(conversation_id)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
        return None
    return conversation_id

"""Limits that protect the service on the public channels (REST, socket.io, SMS).

Every message from a public channel passes :meth:`Gate.admit` before it reaches Rasa:

- the sender id must be a valid conversation id of this channel
  (:mod:`bot.channels.conversation_ids`), at most ``MAX_SENDER_ID_CHARS`` characters
  (default 128);
- the text is cleaned: NUL bytes and other control characters (but tab and newlines)
  are removed, unpaired surrogates (invalid UTF-8 that got through) replaced; emoji and
  right-to-left text are kept as they are. Text that is empty after that is refused;
- at most ``MAX_MESSAGE_CHARS`` characters (default 5000);
- at most ``RATE_LIMIT_PER_MINUTE`` messages per sender per minute (default 30; 0 turns
  it off). With ``REDIS_URL`` the count is shared by all replicas (Redis ``INCR`` on a
  per-minute key), else it is kept per process. If Redis cannot be reached the message
  is let through: a rate limit must never be the reason a message is lost.

A safety exception: a message that is too long or over the rate limit is still screened
(its first ``MAX_MESSAGE_CHARS`` characters) and, if the screen says crisis or emergency,
admitted anyway (cut to the limit). A person in danger is never told to slow down.

Refusals are :class:`Refused` with an HTTP status (400, 413, 429), a machine-readable
``code`` and a message for the person that always ends with the crisis line and the
emergency number from clinic.yml.

The request body limit (``REQUEST_MAX_BYTES``, default 256 KiB) is Sanic's
``REQUEST_MAX_SIZE`` on the Rasa server (413 before anything is read); see
:func:`apply_request_limit`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

logger = logging.getLogger(__name__)

DEFAULTS = {
    "MAX_MESSAGE_CHARS": 5000,
    "MAX_SENDER_ID_CHARS": 128,
    "RATE_LIMIT_PER_MINUTE": 30,
    # Per client address, all its conversations together: rotating sender ids must not
    # lift the per-sender limit. High enough for a clinic's or a shelter's shared network.
    "ADDRESS_RATE_LIMIT_PER_MINUTE": 120,
    "REQUEST_MAX_BYTES": 256 * 1024,
}
# C0 controls but tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
WINDOW_SECONDS = 60
# The message metadata key under which channels store the client address's key.
CLIENT_ADDRESS_KEY = "client_address_key"
# Whitespace and the invisible characters a message may consist of (BOM, zero widths).
_INVISIBLE = " \t\n\r\x0b\x0c\u00a0\u2028\u2029\u3000\ufeff\u200b\u200c\u200d\u2060"


def _int_env(name: str) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return DEFAULTS[name]
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


@dataclass(frozen=True)
class Limits:
    """The configured limits (environment variables, defaults in :data:`DEFAULTS`)."""

    max_message_chars: int = DEFAULTS["MAX_MESSAGE_CHARS"]
    max_sender_chars: int = DEFAULTS["MAX_SENDER_ID_CHARS"]
    rate_per_minute: int = DEFAULTS["RATE_LIMIT_PER_MINUTE"]
    address_rate_per_minute: int = DEFAULTS["ADDRESS_RATE_LIMIT_PER_MINUTE"]
    request_max_bytes: int = DEFAULTS["REQUEST_MAX_BYTES"]

    @classmethod
    def from_env(cls) -> Limits:
        """Read ``MAX_MESSAGE_CHARS``, ``MAX_SENDER_ID_CHARS``, ``RATE_LIMIT_PER_MINUTE``,
        ``ADDRESS_RATE_LIMIT_PER_MINUTE``, ``REQUEST_MAX_BYTES``."""
        limits = cls(
            max_message_chars=_int_env("MAX_MESSAGE_CHARS"),
            max_sender_chars=_int_env("MAX_SENDER_ID_CHARS"),
            rate_per_minute=_int_env("RATE_LIMIT_PER_MINUTE"),
            address_rate_per_minute=_int_env("ADDRESS_RATE_LIMIT_PER_MINUTE"),
            request_max_bytes=_int_env("REQUEST_MAX_BYTES"),
        )
        if limits.max_message_chars < 1 or limits.max_sender_chars < 1:
            raise ValueError("MAX_MESSAGE_CHARS and MAX_SENDER_ID_CHARS must be at least 1")
        if limits.request_max_bytes < 1024:
            raise ValueError("REQUEST_MAX_BYTES must be at least 1024")
        return limits


def crisis_footer() -> str:
    """The sentence every refusal ends with: the crisis line and the emergency number."""
    from bot.nlg import response_variables

    v = response_variables()
    return f"If you are in crisis: {v['crisis_line']}. In an emergency, {v['emergency_how']}."


class Refused(Exception):
    """A message the gate does not pass on: HTTP ``status``, ``code`` and a ``message``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        retry_after: int | None = None,
        first: bool = True,
    ):
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        # For 429: whether this is the first refusal in the window (SMS answers only that one).
        self.first = first
        super().__init__(detail)

    @property
    def message(self) -> str:
        """What the person is told: the reason, then the crisis line."""
        return f"{self.detail} {crisis_footer()}"

    def to_dict(self) -> Dict[str, Any]:
        """JSON body for an HTTP refusal."""
        body: Dict[str, Any] = {"error": self.code, "message": self.message}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


def clean_text(text: str) -> str:
    """Control characters (and NUL) removed, unpaired surrogates replaced; else unchanged."""
    text = _CONTROL.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def check_sender(sender: Any, limits: Limits, channel: str) -> str:
    """The sender id, or :class:`Refused` (400) when it is not a valid conversation id for
    ``channel`` (:mod:`bot.channels.conversation_ids`, the one definition)."""
    from bot.channels.conversation_ids import InvalidConversationId, check

    try:
        return check(sender, channel, limits.max_sender_chars)
    except InvalidConversationId as exc:
        raise Refused(400, "invalid_sender", str(exc)) from None


class _MemoryCounter:
    """Messages per sender per minute window, in this process."""

    def __init__(self) -> None:
        self._counts: Dict[Tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._counts) > 50_000:  # drop finished windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            return count


class _RedisCounter:
    """Messages per sender per minute window, shared by all replicas through Redis."""

    def __init__(self, url: str, prefix: Optional[str]) -> None:
        import redis

        self.red = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = f"{prefix}:rate:" if prefix else "rate:"

    def hit(self, key: str, window: int) -> int:
        name = f"{self.prefix}{key}:{window}"
        pipe = self.red.pipeline()
        pipe.incr(name)
        pipe.expire(name, WINDOW_SECONDS * 2)
        count, _ = pipe.execute()
        return int(count)


class Gate:
    """Checks one public channel's messages against the :class:`Limits`."""

    def __init__(self, limits: Limits | None = None, redis_url: str | None = None) -> None:
        from bot.settings import lock_store_key_prefix

        self.limits = limits or Limits.from_env()
        self.memory = _MemoryCounter()
        self.shared = _RedisCounter(redis_url, lock_store_key_prefix()) if redis_url else None

    @classmethod
    def from_env(cls) -> Gate:
        """Limits from the environment; the rate count in Redis when ``REDIS_URL`` is set."""
        from bot.settings import redis_url

        return cls(Limits.from_env(), redis_url())

    def _count(self, key: str) -> int:
        window = int(time.time() // WINDOW_SECONDS)
        if self.shared is not None:
            try:
                return self.shared.hit(key, window)
            except Exception as exc:  # Redis down: count here rather than refuse
                logger.warning("rate limit: Redis unavailable (%s), counting locally", exc)
        return self.memory.hit(key, window)

    @staticmethod
    def _urgent(text: str) -> bool:
        from bot.safety import assess

        return assess(text).level.value in ("crisis", "emergency")

    def _over_rate(self, key: str, limit: int, detail: str) -> Refused | None:
        count = self._count(key)
        if count <= limit:
            return None
        retry = WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS
        return Refused(
            429,
            "rate_limited",
            f"{detail} (at most {limit} a minute). Please wait {retry} seconds.",
            retry_after=retry,
            first=count == limit + 1,
        )

    def admit(self, channel: str, sender: Any, text: Any, address_key: Optional[str] = None) -> str:
        """The text to pass on to Rasa (cleaned), or :class:`Refused`.

        ``address_key``: the client address's key (:func:`address_key`), for the limit
        per address (REST and socket.io; SMS all comes from Twilio's addresses).
        """
        from bot.handoff import redact

        limits = self.limits
        sender = check_sender(sender, limits, channel)
        if not isinstance(text, str):
            raise Refused(400, "invalid_message", "The message must be text.")
        text = clean_text(text)
        if not text.strip(_INVISIBLE):
            raise Refused(400, "empty_message", "The message is empty.")
        refused: Refused | None = None
        if len(text) > limits.max_message_chars:
            refused = Refused(
                413,
                "message_too_long",
                f"Your message is too long ({len(text)} characters; at most "
                f"{limits.max_message_chars}). Please send it in shorter parts.",
            )
        if refused is None and limits.rate_per_minute:
            refused = self._over_rate(
                f"{channel}:{sender}",
                limits.rate_per_minute,
                "You are sending messages faster than I can answer",
            )
        if refused is None and address_key and limits.address_rate_per_minute:
            refused = self._over_rate(
                f"{channel}:addr:{address_key}",
                limits.address_rate_per_minute,
                "Too many messages are coming from your network",
            )
        if refused is None:
            return text
        head = text[: limits.max_message_chars]
        if self._urgent(head):
            logger.warning(
                "%s message from %s over a limit (%s) admitted: the safety screen fired",
                channel,
                redact(sender),
                refused.code,
            )
            return head
        logger.info("%s message from %s refused: %s", channel, redact(sender), refused.code)
        raise refused


def client_address(peer: Optional[str], forwarded_for: Optional[str], trust_proxy: bool) -> str:
    """The client's address: the peer's, or behind our proxy (``TRUST_PROXY=1``) the
    right-most ``X-Forwarded-For`` entry, the one our proxy appended. The left-most is
    whatever the client wrote there."""
    if trust_proxy and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        if last:
            return last[:64]
    return (peer or "unknown")[:64]


def address_key(address: str) -> str:
    """A keyed, non-reversible stand-in for a client address (stored with the message's
    metadata and used for limits; the address itself is never stored)."""
    import hashlib
    import hmac

    from bot.settings import secret_key

    digest = hmac.new(secret_key("client-address"), address.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:32]


def request_address_key(peer: Optional[str], forwarded_for: Optional[str]) -> str:
    """The key of a request's client address (:func:`client_address` with the
    ``TRUST_PROXY`` setting, then :func:`address_key`): what REST and socket.io put in the
    message metadata and count the per-address limit by."""
    from bot.settings import trust_proxy

    return address_key(client_address(peer, forwarded_for, trust_proxy()))


def address_key_from_metadata(metadata: Any) -> Optional[str]:
    """The client address key a channel stored in a message's metadata, or None.

    Read by the flood guard on every path that records a handoff (the action server, and
    the Rasa server's own fallbacks)."""
    key = metadata.get(CLIENT_ADDRESS_KEY) if isinstance(metadata, dict) else None
    return key if isinstance(key, str) and 0 < len(key) <= 64 else None


def apply_request_limit(app: Any, limits: Limits | None = None) -> None:
    """Set the Sanic app's request body limit (``REQUEST_MAX_BYTES``) before it serves."""
    limits = limits or Limits.from_env()
    if app.config.REQUEST_MAX_SIZE != limits.request_max_bytes:
        app.config.REQUEST_MAX_SIZE = limits.request_max_bytes
        logger.info("Request bodies limited to %d bytes", limits.request_max_bytes)

"""Rasa's REST channel with input checks and limits (``bot.limits``).

Named in credentials.yml as ``bot.channels.rest.LimitedRestInput``; its name stays
``rest`` (``POST /webhooks/rest/webhook``, ``input_channel`` "rest" on each message).
Differences from Rasa's ``RestInput``:

- the body must be a JSON object with a string ``sender`` and a string ``message``
  (400 otherwise, with a JSON ``{"error", "message"}`` body, never a 500);
- :class:`bot.limits.Gate` checks sender, length and rate (400/413/429); every refusal
  names the crisis line;
- ``input_channel`` comes from the channel, not from the client: a REST client could
  otherwise claim to be "twilio" and have staff replies texted to any number;
- when the message cannot be processed (database or lock store down), the answer is
  503 with the reason instead of Rasa's 200 with an empty list; a crisis or emergency
  gets the crisis resources as the reply (see ``bot.channels.fallback``);
- ``?stream=true`` is answered like a normal request (one JSON list);
- Rasa's JSON HTTP API (``/conversations/...``, ``/model/parse``) answers a body that is
  not JSON or not an object with 400 instead of 500 (:func:`api_body_check`);
- once the server has started, tracker store errors fail the request instead of being
  hidden by Rasa's in-memory fallback (``bot.storage.tracker_store.fail_loudly``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.fallback import degraded_answer, unavailable_text
from bot.limits import CLIENT_ADDRESS_KEY, Gate, Refused, apply_request_limit, request_address_key

logger = logging.getLogger(__name__)


def refusal(exc: Refused) -> HTTPResponse:
    """The JSON answer for a refused request (with Retry-After for 429)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return response.json(exc.to_dict(), status=exc.status, headers=headers)


async def unavailable(sender: str, text: str, source_key: Optional[str] = None) -> HTTPResponse:
    """The answer when a message could not be processed (database or lock store down).

    A crisis or emergency gets 200 with the crisis resources as the assistant's reply
    (the person must get them whatever failed; header ``X-Assistant-Degraded: 1``);
    anything else gets 503 with the reason and the crisis line.
    """
    urgent = await degraded_answer(sender, text, "rest", source_key)
    if urgent:
        return response.json(
            [{"recipient_id": sender, "text": urgent}],
            headers={"X-Assistant-Degraded": "1"},
        )
    return response.json(
        {"error": "unavailable", "message": unavailable_text()},
        status=503,
        headers={"Retry-After": "5"},
    )


NEEDS_BODY = ("/messages", "/trigger_intent", "/execute", "/tracker/events")


async def api_body_check(request: Request) -> Optional[HTTPResponse]:
    """Request middleware for Rasa's JSON HTTP API: a body that is not JSON, or not an
    object (a list too for ``/tracker/events``), gets 400 instead of Rasa's 500."""
    path = request.path
    if request.method not in ("POST", "PUT"):
        return None
    if not (path.startswith("/conversations/") or path == "/model/parse"):
        return None
    if not request.body:
        if path.endswith(NEEDS_BODY) or path == "/model/parse":
            return refusal(Refused(400, "invalid_json", "A JSON body is required."))
        return None
    try:
        body = json.loads(request.body)
    except ValueError:
        return refusal(Refused(400, "invalid_json", "The body must be JSON."))
    allowed = (dict, list) if path.endswith("/tracker/events") else (dict,)
    if not isinstance(body, allowed):
        return refusal(Refused(400, "invalid_json", "The body must be a JSON object."))
    if isinstance(body, list) and not (body and all(isinstance(e, dict) for e in body)):
        return refusal(Refused(400, "invalid_events", "Events: a non-empty list of objects."))
    if path == "/model/parse" and not isinstance(body.get("text"), str):
        return refusal(Refused(400, "invalid_message", '"text" must be a string.'))
    return None


def register_api_body_check() -> bool:
    """Add :func:`api_body_check` to the Rasa server's app (made before the channels)."""
    from sanic import Sanic

    try:
        app = Sanic.get_app()
    except Exception:  # no app, or several: not the Rasa server (tests, tools)
        return False
    if api_body_check not in app.request_middleware:
        app.register_middleware(api_body_check, "request")
    return True


class LimitedRestInput(RestInput):
    """Rasa's REST channel with input validation, limits and a clear failure answer."""

    @classmethod
    def name(cls) -> Text:
        """``rest``, like Rasa's."""
        return "rest"

    def __init__(self, gate: Gate | None = None) -> None:
        self.gate = gate

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """``GET /webhooks/rest/`` and ``POST /webhooks/rest/webhook``."""
        hook = Blueprint("custom_webhook_LimitedRestInput", __name__)
        register_api_body_check()
        if self.gate is None:
            self.gate = Gate.from_env()
        gate = self.gate

        @hook.listener("before_server_start")
        async def limit_bodies(app: Any, _loop: Any) -> None:
            apply_request_limit(app, gate.limits)

        @hook.listener("after_server_start")
        async def loud_tracker_store(app: Any, _loop: Any) -> None:
            # Rasa loads the agent before the server starts serving.
            from bot.storage.tracker_store import fail_loudly

            fail_loudly(getattr(app.ctx, "agent", None))

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:
                body = None
            if not isinstance(body, dict):
                return refusal(
                    Refused(
                        400,
                        "invalid_json",
                        'The body must be a JSON object: {"sender": "...", "message": "..."}.',
                    )
                )
            metadata = body.get("metadata")
            if metadata is not None and not isinstance(metadata, dict):
                return refusal(Refused(400, "invalid_metadata", "metadata must be an object."))
            key = request_address_key(request.ip, request.headers.get("x-forwarded-for"))
            try:
                text = gate.admit(self.name(), body.get("sender"), body.get("message"), key)
            except Refused as exc:
                return refusal(exc)
            # Set by the server, whatever the client sent: the handoff flood guard
            # (bot.handoff) groups crises from one address by it.
            metadata = {**(metadata or {}), CLIENT_ADDRESS_KEY: key}
            collector = CollectingOutputChannel()
            message = UserMessage(
                text, collector, body["sender"], input_channel=self.name(), metadata=metadata
            )
            try:
                await on_new_message(message)
            except asyncio.CancelledError:
                logger.error("REST message from %s: cancelled", _ref(body["sender"]))
                return await unavailable(body["sender"], text, key)
            except Exception as exc:
                logger.error(
                    "REST message from %s could not be processed: %s: %s",
                    _ref(body["sender"]),
                    type(exc).__name__,
                    str(exc)[:300],
                )
                return await unavailable(body["sender"], text, key)
            return response.json(collector.messages)

        return hook


def _ref(sender: str) -> str:
    from bot.handoff import redact

    return redact(sender)

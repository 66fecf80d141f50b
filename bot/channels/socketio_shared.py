"""Rasa's socket.io channel, shared across replicas through Redis when ``REDIS_URL`` is set.

Named in credentials.yml as ``bot.channels.socketio_shared.SharedSocketIOInput`` (same
settings as Rasa's ``socketio`` block). Its name stays ``socketio``: the widget, the path
``/socket.io``, the ``socketio`` input channel stored on each message and
``output_channel=latest`` (staff replies, the watchdog) all work as with Rasa's channel.

Rasa's ``SocketIOInput`` keeps the connected clients in the memory of one process, so a
message sent through replica B's HTTP API (``POST /conversations/{id}/execute`` with
``output_channel=latest``) cannot reach a widget connected to replica A. With
``REDIS_URL`` set, the ``AsyncServer`` gets python-socketio's ``AsyncRedisManager``: every
emit (to a room, i.e. a session id) is published on a Redis pub/sub channel and each
replica delivers it to the clients connected to it. Redis pub/sub channels are shared by
all databases of a Redis server, so the channel is named after ``LOCK_STORE_KEY_PREFIX``
(``<prefix>:socketio``; plain ``socketio`` without a prefix): deployments sharing one Redis
need different prefixes.

Without ``REDIS_URL`` this is Rasa's channel (one process, in-memory manager).

Either way, incoming events are checked before Rasa sees them (``bot.limits``). Sessions
are issued by the server (:mod:`bot.channels.web_sessions`): a ``session_request`` resumes
a conversation only with the signed token the server gave for it, and gets a new session
otherwise; the socket keeps its one conversation id in its socket.io session. A
``user_uttered`` that is not an object, arrives before a session, names another session,
or is refused by the gate (empty, too long, too fast) is answered on that socket with the
reason and the crisis line; a message that cannot be processed
(database down) is answered with the crisis resources when the safety screen fires, or a
clear "unavailable" otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Optional, Text

import socketio
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot.channels import web_sessions
from bot.limits import (
    CLIENT_ADDRESS_KEY,
    Gate,
    Refused,
    apply_request_limit,
    crisis_footer,
    request_address_key,
)
from bot.settings import lock_store_key_prefix, redis_url

logger = logging.getLogger(__name__)

DEFAULT_CHANNEL = "socketio"
# How long a replica waits at start-up for its Redis subscription before serving anyway.
SUBSCRIBE_TIMEOUT = 10.0


def pubsub_channel() -> str:
    """The Redis pub/sub channel: ``<LOCK_STORE_KEY_PREFIX>:socketio`` or ``socketio``."""
    prefix = lock_store_key_prefix()
    if prefix and not prefix.isalnum():
        raise ValueError("LOCK_STORE_KEY_PREFIX must be letters and digits only")
    return f"{prefix}:{DEFAULT_CHANNEL}" if prefix else DEFAULT_CHANNEL


def shared_manager() -> Optional[socketio.AsyncRedisManager]:
    """python-socketio's Redis client manager for ``REDIS_URL``, or None without it."""
    url = redis_url()
    if not url:
        return None
    return socketio.AsyncRedisManager(url, channel=pubsub_channel())


def allowed_origins() -> Optional[list]:
    """Origins whose pages may open a socket.io connection.

    Without ``WIDGET_ORIGINS``: None, python-engineio's same-origin check (the page's
    origin must be this server's own, from its Host header), which is where the widget
    and its demo page are served from. With it: those sites plus ``WIDGET_PUBLIC_URL``.
    Clients that send no Origin header (not a browser) are not affected.
    """
    from bot.settings import widget_origins, widget_public_url

    extra = widget_origins()
    if not extra:
        return None
    return sorted(set(extra) | {widget_public_url()})


class SharedSocketIOInput(SocketIOInput):
    """Rasa's ``SocketIOInput`` with its clients shared across replicas through Redis."""

    @classmethod
    def name(cls) -> Text:
        """``socketio``, like Rasa's: ``output_channel=latest`` and the widget rely on it."""
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint and handlers, on a server whose client manager is shared.

        Rasa creates its ``AsyncServer`` inside ``blueprint()``; before any client
        connects its in-memory manager holds nothing, so it is swapped for the Redis one
        the way ``AsyncServer(client_manager=...)`` would set it. The handlers (and
        ``get_output_channel()``) use that same server object, so every emit goes
        through Redis. python-socketio 5.9's ``enter_room`` stays synchronous (Rasa calls
        it without ``await``).
        """
        bp = super().blueprint(on_new_message)
        self._guard(bp, on_new_message)
        assert self.sio is not None
        # Rasa's channel turns python-engineio's origin check off (cors_allowed_origins=[]),
        # so any page could open widget sessions from its visitors' browsers.
        self.sio.eio.cors_allowed_origins = allowed_origins()
        manager = shared_manager()
        if manager is None:
            return bp
        sio = self.sio
        assert sio is not None and not sio.manager_initialized
        sio.manager = manager
        manager.set_server(sio)
        channel = manager.channel
        from bot.storage.lock_store import redacted

        where = redacted(redis_url() or "")

        async def start_listening(app: Any, loop: Any = None) -> None:
            # python-socketio starts the Redis listener on the first connection; the emit
            # that answers it (session_confirm) also goes through Redis, so a listener
            # not yet subscribed would lose it. Start and subscribe before serving.
            if not sio.manager_initialized:
                sio.manager_initialized = True
                manager.initialize()
            deadline = asyncio.get_running_loop().time() + SUBSCRIBE_TIMEOUT
            while not manager.pubsub.subscribed:
                if asyncio.get_running_loop().time() > deadline:
                    logger.warning("socket.io: Redis subscription not confirmed yet")
                    break
                await asyncio.sleep(0.05)
            logger.info(
                f"socket.io: shared across replicas through Redis (channel '{channel}' at {where})"
            )

        bp.after_server_start(start_listening)
        return bp

    def _guard(self, bp: Blueprint, on_new_message: Callable[[UserMessage], Awaitable[Any]]):
        """Replace Rasa's session_request and user_uttered handlers with checked ones."""
        sio = self.sio
        assert sio is not None
        gate = Gate.from_env()
        namespace = self.namespace

        @bp.listener("before_server_start")
        async def limit_bodies(app: Any, _loop: Any) -> None:
            apply_request_limit(app, gate.limits)

        @bp.listener("after_server_start")
        async def loud_tracker_store(app: Any, _loop: Any) -> None:
            from bot.storage.tracker_store import fail_loudly

            fail_loudly(getattr(app.ctx, "agent", None))

        async def tell(sid: Text, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=namespace)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            # The server issues every session (bot.channels.web_sessions): a socket may
            # resume only a conversation whose signed token it holds, never a REST id, a
            # phone number or any id it chose.
            token = data.get("session_id") if isinstance(data, dict) else None
            conversation_id = web_sessions.verify(token) if self.session_persistence else None
            if conversation_id is None:
                conversation_id, token = web_sessions.issue()
            for room in sio.rooms(sid, namespace=namespace):
                if room != sid:  # one socket, one conversation
                    sio.leave_room(sid, room, namespace=namespace)
            await sio.save_session(sid, {"conversation_id": conversation_id}, namespace=namespace)
            sio.enter_room(sid, conversation_id, namespace=namespace)
            await sio.emit("session_confirm", token, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            if not isinstance(data, dict):
                await tell(sid, f"Sorry, I could not read that message. {crisis_footer()}")
                return
            own = (await sio.get_session(sid, namespace=namespace)).get("conversation_id")
            named = data.get("session_id")
            if own is None or (named is not None and web_sessions.verify(named) != own):
                # A socket writes only into the session it was issued: its answers, staff
                # replies and the watchdog's messages go to that conversation's room.
                await tell(
                    sid,
                    "Sorry, this chat session is not open on this connection. Please reload "
                    f"the page. {crisis_footer()}",
                )
                return
            sender = own
            environ = sio.get_environ(sid, namespace=namespace) or {}
            key = request_address_key(
                environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR")
            )
            try:
                text = gate.admit(self.name(), sender, data.get("message"), key)
            except Refused as exc:
                await tell(sid, exc.message)
                return
            metadata: Any = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            metadata[CLIENT_ADDRESS_KEY] = key  # set here, never by the client
            output = SocketIOOutput(sio, self.bot_message_evt)
            message = UserMessage(
                text, output, sender, input_channel=self.name(), metadata=metadata
            )
            try:
                await on_new_message(message)
            except Exception as exc:
                from bot.channels.fallback import degraded_answer, unavailable_text
                from bot.handoff import redact

                logger.error(
                    "socket.io message from %s could not be processed: %s",
                    redact(sender),
                    type(exc).__name__,
                )
                urgent = await degraded_answer(sender, text, self.name(), key)
                await tell(sid, urgent or unavailable_text())

"""The console's path to the patient: Rasa's HTTP API, with its auth token.

- claim:   append ``ConversationPaused`` (the assistant stops answering; messages are still
           screened by the NLU pipeline's SafetyScreen and stored);
- reply:   set ``staff_name``/``staff_reply`` and execute ``utter_staff_reply`` with the
           ``latest`` output channel, so the message goes out on the channel the patient
           last wrote from (socket.io widget, Twilio SMS) and is stored as a bot event
           whose metadata names the response;
- resolve: append ``ConversationResumed``.
"""

from __future__ import annotations

import os
from typing import Optional
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

from bot.channels.conversation_ids import InvalidConversationId, path_segment


class RasaError(RuntimeError):
    """Rasa's HTTP API could not be reached or refused the request."""


def conversation_path(conversation_id: str) -> str:
    """The id as one quoted URL path segment, or RasaError if it is not a valid id.

    The one definition of a valid id is :mod:`bot.channels.conversation_ids`. Rasa's
    server (Sanic 21.12) does not percent-decode path parameters, so a valid id is
    already its own quoted form; anything else (``/``, ``..``, ``%``, spaces) is refused
    here rather than sent: ``pt-atk/../pt-victim-1`` once addressed another patient.
    """
    try:
        return path_segment(conversation_id)
    except InvalidConversationId:
        raise RasaError(
            "this conversation id is not a valid id (it may predate the id rules); the "
            "console cannot address it through Rasa's HTTP API"
        ) from None


class RasaClient:
    """Small async client for the parts of Rasa's HTTP API the console uses."""

    def __init__(self, base_url: str, token: str, timeout: float = 20.0) -> None:
        """``base_url`` like http://localhost:5005; ``token`` as given to ``--auth-token``."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    @classmethod
    def from_env(cls) -> RasaClient:
        """``RASA_URL`` (default http://localhost:5005) and ``RASA_TOKEN``."""
        token = os.environ.get("RASA_TOKEN", "")
        if not token:
            raise RasaError("RASA_TOKEN is not set: the console cannot reach Rasa's HTTP API")
        return cls(os.environ.get("RASA_URL", "http://localhost:5005"), token)

    def url(self, conversation_id: str, *path: str, **query: str) -> URL:
        """``{base}/conversations/{id}/{path...}?token=...``, every segment quoted.

        ``encoded=True`` keeps aiohttp/yarl from re-quoting or normalising the path.
        """
        segments = ["conversations", conversation_path(conversation_id)]
        segments += [quote(p, safe="") for p in path]
        params = urlencode({"token": self.token, **query})
        return URL(f"{self.base_url}/{'/'.join(segments)}?{params}", encoded=True)

    async def _post(
        self, conversation_id: str, path: str, body, query: Optional[dict] = None
    ) -> dict:
        url = self.url(conversation_id, *path.split("/"), **(query or {}))
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.post(url, json=body) as response:
                    if response.status >= 300:
                        text = (await response.text())[:300]
                        # The URL holds the conversation id (maybe a phone number): not logged.
                        raise RasaError(f"Rasa answered {response.status} to {path}: {text}")
                    return await response.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise RasaError(f"Rasa is not reachable ({type(exc).__name__})") from exc
        except TimeoutError as exc:
            raise RasaError("Rasa did not answer in time") from exc

    async def append_events(self, conversation_id: str, events: list) -> dict:
        """Append events to the conversation's tracker."""
        return await self._post(conversation_id, "tracker/events", events)

    async def pause(self, conversation_id: str) -> None:
        """Stop the assistant answering this conversation."""
        await self.append_events(conversation_id, [{"event": "pause"}])

    async def resume(self, conversation_id: str) -> None:
        """Let the assistant answer again."""
        await self.append_events(conversation_id, [{"event": "resume"}])

    async def send_response(
        self, conversation_id: str, response: str, slots: Optional[dict] = None
    ) -> dict:
        """Fill slots, then utter a domain response on the patient's latest channel."""
        if slots:
            await self.append_events(
                conversation_id,
                [{"event": "slot", "name": k, "value": v} for k, v in slots.items()],
            )
        result = await self._post(
            conversation_id, "execute", {"name": response}, {"output_channel": "latest"}
        )
        # Leave the tracker as after any bot turn: listening. Without this the patient's
        # next message follows a bot utterance, and the rules (which expect action_listen
        # before a user turn) no longer apply once the assistant resumes.
        await self.append_events(conversation_id, [{"event": "action", "name": "action_listen"}])
        return result

    async def send_staff_message(self, conversation_id: str, staff_name: str, text: str) -> dict:
        """A staff member's message, with their name, on the patient's channel."""
        return await self.send_response(
            conversation_id,
            "utter_staff_reply",
            {"staff_name": staff_name, "staff_reply": text},
        )

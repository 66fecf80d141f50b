"""SMS through Twilio, served by the Rasa server at ``/webhooks/twilio/webhook``.

Named in credentials.yml as ``bot.channels.twilio_sms.TwilioSMSInput`` (no values there):
it reads ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``TWILIO_NUMBER`` from the
environment, plus optionally ``TWILIO_PUBLIC_URL`` (the public base URL Twilio calls, e.g.
``https://bot.example.org``, needed to check signatures behind a proxy) and
``TWILIO_API_URL`` (another base URL for Twilio's REST API; tests use a fake one). Without
the three required values the channel is off: it says so in the log and its webhook
answers 503 with the reason; everything else works as before.

What it does beyond Rasa's own Twilio channel (``rasa.core.channels.twilio``):

- checks ``X-Twilio-Signature`` (HMAC of the URL and POST parameters with the auth token);
  a request without a valid signature gets 403 and never reaches the conversation;
- stores every inbound message (``sms_inbound``) before processing it, then processes it
  in the background and answers Twilio at once with empty TwiML (Twilio gives up after
  15 s; a slow turn must not be cut off or retried);
- answers the carrier keywords STOP (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT), START (YES,
  UNSTOP; only from a number that opted out, otherwise "yes" is an answer) and HELP (INFO),
  and sends nothing more to a number that opted out (``sms_contacts``). Messages from an
  opted-out number are still stored and go through the assistant (safety screen, staff
  handoff): only the outgoing SMS are withheld, and recorded as ``suppressed``;
- renders buttons as numbered choices ("1. Yes  2. No") and reads a reply "1" as the first
  button's payload;
- splits long replies at paragraph, sentence or word boundaries into messages of at most
  1600 characters;
- sends from a worker thread (the twilio client blocks), retries 5xx, 429 and connection
  errors with backoff (not other 4xx), and records every delivery in ``sms_deliveries``
  (``python -m bot sms failures`` lists what did not go out).

``get_output_channel()`` gives the SMS output, so staff replies sent through Rasa's HTTP
API with ``output_channel=latest`` reach the patient by SMS. The phone number is the
conversation id; log lines carry :func:`bot.handoff.redact` of it, never the number.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse

from bot import sms
from bot.channels import conversation_ids
from bot.handoff import redact
from bot.limits import Gate, Refused

logger = logging.getLogger(__name__)
# The twilio library logs every API request at INFO; nothing there is for our logs.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

# The twilio client blocks: sends run here, apart from the default executor that our
# database calls use, so a slow or unreachable API cannot hold those up.
_send_pool: Optional[ThreadPoolExecutor] = None
_send_pool_lock = threading.Lock()


def _sender_pool() -> ThreadPoolExecutor:
    """The pool for Twilio sends, created on the first send (not at import)."""
    global _send_pool
    with _send_pool_lock:
        if _send_pool is None:
            _send_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="twilio-send")
        return _send_pool


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _mask_number(number: str) -> str:
    return f"...{number[-4:]}" if number else ""


class TwilioSMSOutput(OutputChannel):
    """Sends SMS with the official twilio client: split, numbered buttons, retries,
    opt-outs respected, every delivery recorded."""

    max_attempts = 4
    backoff_seconds = 0.5

    @classmethod
    def name(cls) -> Text:
        """Same name as the input channel: ``output_channel=latest`` finds it."""
        return "twilio"

    def __init__(self, client: Any, from_number: str, db_url: str | None = None) -> None:
        """``client``: a ``twilio.rest.Client``; ``from_number``: our Twilio number."""
        self.client = client
        self.from_number = from_number
        self.db_url = db_url

    async def _db(self, fn: Callable, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args, url=self.db_url)

    async def deliver(self, recipient_id: str, body: str, force: bool = False) -> str:
        """Send one SMS (at most 1600 characters); "sent", "failed" or "suppressed".

        ``force`` sends even to an opted-out number (only the STOP confirmation and the
        HELP answer, as carriers expect).
        """
        from requests.exceptions import ConnectionError, Timeout
        from twilio.base.exceptions import TwilioRestException

        ref = redact(recipient_id)
        if not force and await self._db(sms.is_opted_out, recipient_id):
            await self._db(sms.record_delivery, recipient_id, "suppressed", body, 0, "opted out")
            logger.info("SMS to %s not sent: the number opted out (STOP)", ref)
            return "suppressed"
        loop = asyncio.get_running_loop()
        send = functools.partial(
            self.client.messages.create, to=recipient_id, from_=self.from_number, body=body
        )
        attempts, error = 0, ""
        while attempts < self.max_attempts:
            attempts += 1
            retry = False
            try:
                message = await loop.run_in_executor(_sender_pool(), send)
            except TwilioRestException as exc:
                retry = exc.status >= 500 or exc.status == 429
                error = f"HTTP {exc.status}, Twilio error {exc.code}: {exc.msg}"
            except (ConnectionError, Timeout) as exc:
                retry = True
                error = f"{type(exc).__name__}: Twilio's API could not be reached"
            except Exception as exc:  # anything else: record it, do not retry
                error = f"{type(exc).__name__}: {exc}"
            else:
                await self._db(
                    sms.record_delivery,
                    recipient_id,
                    "sent",
                    body,
                    attempts,
                    None,
                    getattr(message, "sid", None),
                )
                return "sent"
            error = error.replace(recipient_id, ref)
            if not retry:
                break
            if attempts < self.max_attempts:
                logger.warning("SMS to %s: attempt %d failed (%s); retrying", ref, attempts, error)
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempts - 1))
        await self._db(sms.record_delivery, recipient_id, "failed", body, attempts, error)
        logger.error("SMS to %s FAILED after %d attempt(s): %s", ref, attempts, error)
        return "failed"

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Send text, split into messages of at most 1600 characters."""
        for part in sms.split_message(text):
            await self.deliver(recipient_id, part)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Buttons as numbered choices; the number is read back as the button's payload."""
        if buttons:
            await self._db(sms.remember_buttons, recipient_id, buttons)
            text = sms.render_buttons(text, buttons)
        await self.send_text_message(recipient_id, text)

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Quick replies are buttons here."""
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        """Plain SMS: the image's address as text."""
        await self.send_text_message(recipient_id, image)

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        """Only a ``text`` (or ``body``) in a custom payload can go out by SMS."""
        text = json_message.get("text") or json_message.get("body")
        if text:
            await self.send_text_message(recipient_id, str(text))


def form_params(request: Request) -> RequestParameters:
    """The POST parameters, blank ones included: Twilio signs every parameter it sends
    (an MMS without text has ``Body=``), and Sanic's ``request.form`` drops blank ones."""
    if request.ctx.__dict__.get("twilio_params") is None:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        parsed: dict = {}
        if content_type == "application/x-www-form-urlencoded":
            text = request.body.decode("utf-8", errors="replace")
            parsed = parse_qs(text, keep_blank_values=True)
        request.ctx.twilio_params = RequestParameters(parsed)
    return request.ctx.twilio_params


class TwilioSMSInput(InputChannel):
    """Receives SMS from Twilio's webhook (signed), with carrier keywords and opt-outs."""

    @classmethod
    def name(cls) -> Text:
        """Served at /webhooks/twilio/; conversations show channel "twilio"."""
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """From the environment (credentials.yml may give the same keys in lower case)."""
        creds = credentials or {}

        def value(key: str) -> str:
            return str(creds.get(key.lower()) or os.environ.get(key) or "").strip()

        return cls(
            account_sid=value("TWILIO_ACCOUNT_SID"),
            auth_token=value("TWILIO_AUTH_TOKEN"),
            twilio_number=value("TWILIO_NUMBER"),
            public_url=value("TWILIO_PUBLIC_URL") or None,
            api_url=value("TWILIO_API_URL") or None,
        )

    def __init__(
        self,
        account_sid: str = "",
        auth_token: str = "",
        twilio_number: str = "",
        public_url: str | None = None,
        api_url: str | None = None,
        db_url: str | None = None,
    ) -> None:
        """Off (with the reason in the log) unless all three credentials are given."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.twilio_number = twilio_number
        self.public_url = (public_url or "").rstrip("/") or None
        self.api_url = (api_url or "").rstrip("/") or None
        self.db_url = db_url
        self.gate = Gate.from_env()
        self._client: Any = None
        self._tasks: Set[asyncio.Task] = set()
        given = {
            "TWILIO_ACCOUNT_SID": account_sid,
            "TWILIO_AUTH_TOKEN": auth_token,
            "TWILIO_NUMBER": twilio_number,
        }
        missing = [k for k, v in given.items() if not v]
        self.off_reason: Optional[str] = None
        if missing:
            self.off_reason = f"SMS channel off: {', '.join(missing)} not set"
            logger.warning("%s; /webhooks/twilio/webhook answers 503", self.off_reason)
            return
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(auth_token)
        logger.info(
            "SMS channel on: /webhooks/twilio/webhook, number %s, signatures checked against %s",
            _mask_number(twilio_number),
            self.public_url or "the request URL",
        )

    @property
    def client(self) -> Any:
        """The twilio REST client (made on first use), pointed at TWILIO_API_URL if set."""
        if self._client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            client = Client(
                self.account_sid, self.auth_token, http_client=TwilioHttpClient(timeout=15)
            )
            if self.api_url:
                # Every Messages call goes through the Api domain; only its base changes.
                client.api.base_url = self.api_url
            self._client = client
        return self._client

    def get_output_channel(self) -> Optional[OutputChannel]:
        """The SMS output (None while the channel is off)."""
        if self.off_reason:
            return None
        return TwilioSMSOutput(self.client, self.twilio_number, self.db_url)

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: TWILIO_PUBLIC_URL + path (+ query), else the request's."""
        if not self.public_url:
            return request.url
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{self.public_url}{request.path}{query}"

    def signature_ok(self, request: Request) -> bool:
        """Whether X-Twilio-Signature matches the URL and the POST parameters."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return False
        return self.validator.validate(self.signed_url(request), form_params(request), signature)

    async def _db(self, fn: Callable, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args, url=self.db_url)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """``GET /webhooks/twilio/`` (status) and ``POST /webhooks/twilio/webhook``."""
        hook = Blueprint("twilio_sms_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            if self.off_reason:
                return response.json({"status": "off", "reason": self.off_reason})
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.off_reason:
                return response.text(
                    f"{self.off_reason}: set them in the Rasa server's environment.", status=503
                )
            if not self.signature_ok(request):
                logger.warning("SMS webhook: rejected a request without a valid signature")
                return response.text("invalid or missing X-Twilio-Signature", status=403)
            params = form_params(request)
            sender = params.get("From")
            if not sender:
                return response.text("no From", status=400)
            if not conversation_ids.is_valid(sender) or conversation_ids.owner(sender) != "sms":
                # Signed by Twilio, so not an attack; but only a phone number may name an
                # SMS conversation (bot.channels.conversation_ids).
                return response.text("From is not a phone number", status=400)
            # @ signs get corrupted in SMS by some carriers.
            body = (params.get("Body") or "").replace("¡", "@")
            sid = params.get("MessageSid") or params.get("SmsSid")
            row_id = None
            try:
                row_id = await self._db(sms.record_inbound, sender, body, sid)
            except sms.DuplicateMessage:
                logger.info("SMS from %s: duplicate delivery of a stored message", redact(sender))
                return response.text(EMPTY_TWIML, content_type="text/xml")
            except Exception as exc:
                # Still handled: a crisis message must not be lost because our table is.
                logger.error(
                    "SMS from %s could not be stored (%s)", redact(sender), type(exc).__name__
                )
            task = asyncio.create_task(self.handle(row_id, sender, body, sid, on_new_message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return hook

    async def _mark(self, row_id: Optional[int], status: str, error: str | None = None) -> None:
        if row_id is None:
            return
        try:
            await self._db(sms.mark_inbound, row_id, status, error)
        except Exception as exc:
            logger.error("SMS inbound %s: status not saved (%s)", row_id, type(exc).__name__)

    async def handle(
        self,
        row_id: Optional[int],
        sender: str,
        body: str,
        sid: Optional[str],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Keywords here; anything else to the assistant. The row records the outcome."""
        ref = redact(sender)
        out = self.get_output_channel()
        try:
            word = sms.keyword(body)
            opted_out = await self._db(sms.is_opted_out, sender)
            if word == "stop":
                await self._db(sms.set_opted_out, sender, True)
                logger.info("SMS from %s: STOP, the number is opted out", ref)
                if not opted_out:
                    await out.deliver(sender, sms.stop_text(), force=True)
                await self._mark(row_id, "keyword")
                return
            if word == "start" and opted_out:
                await self._db(sms.set_opted_out, sender, False)
                logger.info("SMS from %s: START, the number is subscribed again", ref)
                await out.deliver(sender, sms.start_text())
                await self._mark(row_id, "keyword")
                return
            if word == "help":
                await out.deliver(sender, sms.help_text(), force=True)
                await self._mark(row_id, "keyword")
                return
            if not body.strip():
                await out.deliver(sender, sms.media_only_text())
                await self._mark(row_id, "ignored", "no text (media only)")
                return
            try:
                body = self.gate.admit(self.name(), sender, body)
            except Refused as exc:
                # Stored already (sms_inbound); answered once per window, never looped.
                logger.info("SMS from %s refused: %s", ref, exc.code)
                if exc.status in (413, 429) and exc.first:
                    await out.deliver(sender, exc.message)
                await self._mark(row_id, "ignored", f"refused: {exc.code}")
                return
            text = await self._db(sms.take_choice, sender, body)
            await on_new_message(
                UserMessage(text, out, sender, input_channel=self.name(), message_id=sid or None)
            )
            if opted_out:
                from bot.handoff import open_handoff_for

                handoff = await self._db(open_handoff_for, sender)
                logger.warning(
                    "SMS from %s: the number opted out; the message was screened and stored, "
                    "replies were not sent%s",
                    ref,
                    f"; handoff {handoff['id']} ({handoff['level']}) is open: staff must "
                    "reach this person another way"
                    if handoff
                    else "",
                )
            await self._mark(row_id, "processed")
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}".replace(sender, ref)[:2000]
            logger.error("SMS from %s: processing failed (%s)", ref, type(exc).__name__)
            logger.debug("SMS processing error: %s", error)
            await self._mark(row_id, "failed", error)
            from bot.channels.fallback import degraded_answer

            urgent = await degraded_answer(sender, body, self.name())
            if urgent:
                try:
                    await out.deliver(sender, urgent)
                except Exception as exc2:
                    logger.critical(
                        "SMS from %s: crisis resources could not be sent (%s)",
                        ref,
                        type(exc2).__name__,
                    )

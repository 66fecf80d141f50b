"""The staff console: a Sanic web app beside the assistant (``python -m bot console``).

Pages (role needed):
  /login                    sign in: password, then the two-factor code if enrolled (public)
  /account                  one's own account: two-factor (TOTP) enrolment (staff)
  /                         handoff queue, most urgent first, live (staff)
  /c/<ref>                  one conversation: live transcript, claim, reply, resolve,
                            flag, tags, notes (staff)
  /c/<ref>/export.json      the transcript as JSON (staff)
  /c/<ref>/print            a printable transcript (staff)
  /transcripts              search conversations; /transcripts.csv exports a search (staff)
  /admin/users              accounts; clear sign-in delays (admin)
  /admin/audit              the audit log, read-only (admin)
  /admin/retention          retention days and what the next run would delete (admin)

Conversations are addressed by their redacted reference (``conv-...``), never by the raw
id, so a phone number never lands in a URL, an access log or the audit log. Every POST
needs the session's CSRF token; every page but /login and /health needs a session, and an
admin without two-factor sign-in gets only /account until they enrol.

Banners come from fixed message codes (``?msg=claimed``), never from text in the URL, so
a link cannot put words of an attacker's choosing on a console page.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Optional
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.request import Request

from bot import handoff as handoffs
from bot.crisis import LEVEL_ORDER
from bot.handoff import HandoffStateError
from bot.staff import accounts, audit, sessions, transcripts
from bot.staff.rasa_client import RasaClient, RasaError
from bot.staff.retention import (
    MAX_DAYS,
    MIN_DAYS,
    apply_retention,
    retention_days,
    set_retention_days,
)
from bot.staff.watchdog import escalate_claimed, send_reminders

logger = logging.getLogger("bot.staff.app")
HERE = Path(__file__).resolve().parent
COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
PENDING_COOKIE = "console_pending"  # password right, two-factor code still due
MAX_REPLY = 1600  # ten SMS segments
MAX_FORM_BYTES = 64 * 1024

# Who may use each route (by route name). Anything not listed needs a staff session.
PUBLIC = {"login_page", "login", "health", "static"}
ADMIN = {
    "users_page",
    "users_add",
    "users_disable",
    "users_unlock",
    "audit_page",
    "retention_page",
    "retention_set",
}

# What an admin without two-factor sign-in may open: enrolment and sign-out.
ENROLMENT = {"account_page", "totp_enrol", "logout"}

# The only banner texts (``?msg=`` / ``?err=`` carry a code; unknown codes show nothing).
# {claimed_by} is filled from the database on a conversation page, never from the URL.
MESSAGES = {
    "claimed": "Claimed. The assistant is paused.",
    "claimed_untold": "Claimed. The assistant is paused. (The patient was not told: the "
    "assistant did not answer.)",
    "sent": "Sent.",
    "resolved": "Resolved. The assistant answers again.",
    "resolved_untold": "Resolved. The assistant answers again. (The patient was not told: "
    "the assistant did not answer.)",
    "flagged": "Flagged.",
    "unflagged": "Flag removed.",
    "tags_saved": "Tags saved.",
    "note_added": "Note added.",
    "user_added": "Account created.",
    "user_disabled": "Account disabled and signed out.",
    "user_unlocked": "Sign-in delays cleared for the account.",
    "retention_set": "Retention saved.",
    "totp_enrolled": "Two-factor sign-in is on. You will need a code at each sign-in.",
}
ERRORS = {
    "no_handoff_to_claim": "There is no open handoff to claim.",
    "already_claimed": "This conversation is already claimed by {claimed_by}.",
    "no_longer_open": "This handoff is no longer open.",
    "pause_failed": "Could not pause the assistant, not claimed. Try again; if it keeps "
    "failing, call the patient.",
    "write_first": "Write a message first.",
    "too_long": f"Messages are limited to {MAX_REPLY} characters.",
    "claim_first": "Claim the conversation before replying.",
    "claimed_by_other": "{claimed_by} has claimed this conversation.",
    "send_failed": "Not sent: the assistant did not take the message. Try again.",
    "opted_out": "Stored, but not texted: this number has opted out of SMS (STOP). "
    "Call the patient instead.",
    "note_needed": "Add a closing note to resolve.",
    "no_open_handoff": "There is no open handoff.",
    "resume_failed": "Could not resume the assistant, not resolved. Try again.",
    "resolve_refused": "Not resolved: the handoff changed meanwhile.",
    "empty_note": "A note needs some text.",
    "self_disable": "You cannot disable your own account.",
    "no_account": "There is no such account.",
    "retention_range": f"Retention must be a whole number of days from {MIN_DAYS} to {MAX_DAYS}.",
    "totp_wrong": "That code did not match. Check the time on your phone and try again.",
    "totp_required": "Admins must set up two-factor sign-in before using the console.",
}

_names = itertools.count()


class _Fields(dict):
    def __missing__(self, key):
        return "someone else"


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ago"] = _ago
    env.filters["short_time"] = lambda iso: (iso or "")[:19].replace("T", " ")
    return env


def _ago(iso: Optional[str]) -> str:
    if not iso:
        return ""
    then = datetime.fromisoformat(iso)
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    seconds = int((datetime.now(timezone.utc) - then).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d"


def queue_items(url: Optional[str] = None) -> list:
    """Open and claimed handoffs, most urgent first then oldest, with the last messages."""
    items = []
    rows = [h for h in handoffs.list_handoffs(url=url) if h["status"] != "resolved"]
    # Flood-grouped handoffs (bot.handoff.record_handoff) are listed under the first one
    # of their burst while it is open; each keeps its own page and can be claimed there.
    leads = {h["id"] for h in rows}
    grouped: dict = {}
    for h in rows:
        if h.get("grouped_with") in leads:
            grouped.setdefault(h["grouped_with"], []).append(
                {"id": h["id"], "ref": transcripts.ref_for(h["conversation_id"], url),
                 "level": h["level"], "status": h["status"]}
            )  # fmt: skip
    for h in rows:
        if h.get("grouped_with") in leads:
            continue
        items.append(
            {
                "id": h["id"],
                # The indexed reference: it differs from the computed one after a collision.
                "ref": transcripts.ref_for(h["conversation_id"], url),
                "conversation_id": h["conversation_id"],
                "level": h["level"],
                "categories": h["categories"],
                "evidence": [
                    {"category": e.get("category", ""), "text": e.get("text", "")}
                    for e in h["evidence"][-6:]
                ],
                "channel": h["channel"],
                "status": h["status"],
                "claimed_by": h["claimed_by"],
                "created_at": h["created_at"],
                "waiting": _ago(h["created_at"]),
                "renotify_count": h["renotify_count"],
                "last_messages": transcripts.last_messages(h["conversation_id"], 4, url),
                "grouped": grouped.get(h["id"], []),
            }
        )
    return items


def create_app(
    db_url: Optional[str] = None,
    rasa: Optional[RasaClient] = None,
    background: bool = True,
    trust_proxy: Optional[bool] = None,
) -> Sanic:
    """Build the console. ``rasa`` defaults to ``RasaClient.from_env()``."""
    app = Sanic(f"staff_console_{next(_names)}")
    app.config.REQUEST_MAX_SIZE = MAX_FORM_BYTES
    app.config.FORWARDED_SECRET = None
    app.ctx.db_url = db_url
    app.ctx.rasa = rasa
    app.ctx.trust_proxy = (
        trust_proxy
        if trust_proxy is not None
        else os.environ.get("CONSOLE_TRUST_PROXY", "").lower() in ("1", "true", "yes")
    )
    env = _templates()
    app.static("/static", str(HERE / "static"), name="static")

    async def db(fn, *args, **kwargs):
        """Run blocking database work off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args, **kwargs))

    def client() -> RasaClient:
        if app.ctx.rasa is None:
            app.ctx.rasa = RasaClient.from_env()
        return app.ctx.rasa

    def is_https(request: Request) -> bool:
        if app.ctx.trust_proxy:
            proto = request.headers.get("x-forwarded-proto", "")
            if proto.split(",")[0].strip().lower() == "https":
                return True
        return request.scheme == "https"

    def client_ip(request: Request) -> str:
        # Behind our proxy, the right-most X-Forwarded-For entry is the address it saw;
        # entries to its left come from the client and may be anything.
        forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
        if app.ctx.trust_proxy and forwarded.strip():
            return forwarded.split(",")[-1].strip()[:64] or "unknown"
        return (request.ip or "unknown")[:64]

    def set_cookie(request, resp, name, value, max_age=None):
        resp.cookies[name] = value
        cookie = resp.cookies[name]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        if is_https(request):
            cookie["secure"] = True
        if max_age is not None:
            cookie["max-age"] = max_age

    def render(
        request: Request, name: str, status: int = 200, fields: Optional[dict] = None, **ctx
    ) -> response.HTTPResponse:
        me = getattr(request.ctx, "user", None)
        known = _Fields(fields or {})
        values = {
            "me": me,
            "csrf": me.csrf_token if me else "",
            "flash": MESSAGES.get(request.args.get("msg", ""), "").format_map(known),
            "error": ERRORS.get(request.args.get("err", ""), "").format_map(known),
            "levels": list(LEVEL_ORDER),
            "min_password": accounts.MIN_PASSWORD_LENGTH,
            "max_password": accounts.MAX_PASSWORD_LENGTH,
        }
        values.update(ctx)
        body = env.get_template(name).render(**values)
        return response.html(body, status=status)

    def back(path: str, msg: str = "", err: str = "") -> response.HTTPResponse:
        """Redirect to ``path`` with a banner: ``msg``/``err`` are codes of MESSAGES/ERRORS."""
        assert not msg or msg in MESSAGES, msg
        assert not err or err in ERRORS, err
        query = urlencode({k: v for k, v in (("msg", msg), ("err", err)) if v})
        return response.redirect(path + ("?" + query if query else ""), status=303)

    def form(request: Request, name: str, limit: int = 4000) -> str:
        value = request.form.get(name, "") if request.form else ""
        return (value or "")[:limit]

    # ----------------------------------------------------------------------------------
    # Middleware: security headers, session, role, CSRF
    # ----------------------------------------------------------------------------------
    @app.middleware("request")
    async def guard(request: Request):
        request.ctx.user = None
        route = request.route.name.split(".")[-1] if request.route else None
        if route == "static" and request.path.rstrip("/") in ("/static", ""):
            return response.text("Not found.", status=404)  # no directory listing (was 500)
        if route is None or route in PUBLIC:
            if request.method == "POST" and route == "login":
                given = form(request, "csrf_token", 200)
                if not sessions.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), given):
                    return response.text("The form expired; reload the login page.", 403)
            return None
        user = await db(sessions.get_session, request.cookies.get(COOKIE), app.ctx.db_url)
        if user is None:
            if request.path.startswith("/api/") or request.method != "GET":
                return response.json({"error": "sign in first"}, status=401)
            return response.redirect("/login?" + urlencode({"next": request.path}), status=303)
        request.ctx.user = user
        if route in ADMIN and not user.is_admin:
            return response.text("This page is for admins.", status=403)
        if user.is_admin and not user.totp_enabled and route not in ENROLMENT:
            if request.method == "GET" and not request.path.startswith("/api/"):
                return back("/account", err="totp_required")
            return response.text(ERRORS["totp_required"], status=403)
        if request.method not in ("GET", "HEAD"):
            given = request.headers.get("x-csrf-token") or form(request, "csrf_token", 200)
            if not sessions.csrf_ok(user.csrf_token, given):
                return response.text("Missing or wrong CSRF token; reload the page.", 403)
        return None

    @app.middleware("response")
    async def headers(request: Request, resp):
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"
        if is_https(request):
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"

    # ----------------------------------------------------------------------------------
    # Sign in / out
    # ----------------------------------------------------------------------------------
    @app.get("/health", name="health")
    async def health(request: Request):
        return response.json({"status": "ok"})

    @app.get("/login", name="login_page")
    async def login_page(request: Request):
        import secrets

        token = secrets.token_urlsafe(32)
        resp = render(
            request, "login.html", login_csrf=token, next=_safe_next(request.args.get("next"))
        )
        set_cookie(request, resp, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return resp

    def login_form(request: Request, status: int, nxt: str, error: str = "", step: str = ""):
        return render(
            request,
            "login.html",
            status=status,
            login_csrf=request.cookies.get(LOGIN_CSRF_COOKIE, ""),
            next=nxt,
            error=error,
            step=step,
        )

    def signed_in(request: Request, token: str, nxt: str) -> response.HTTPResponse:
        resp = response.redirect(nxt, status=303)
        set_cookie(request, resp, COOKIE, token)
        del resp.cookies[LOGIN_CSRF_COOKIE]
        del resp.cookies[PENDING_COOKIE]
        return resp

    async def too_many(request, username, ip, wait, nxt, step=""):
        await db(audit.record, username or "?", "login_blocked", "", ip, url=app.ctx.db_url)
        resp = login_form(
            request,
            429,
            nxt,
            f"Too many failed attempts. Try again in {int(wait) + 1} seconds, "
            "or ask an admin to clear the delay.",
            step,
        )
        resp.headers["Retry-After"] = str(int(wait) + 1)
        return resp

    @app.post("/login", name="login")
    async def login(request: Request):
        nxt = _safe_next(form(request, "next", 300))
        ip = client_ip(request)
        if form(request, "step", 10) == "code":
            return await login_code(request, nxt, ip)
        username = form(request, "username", 64).strip().lower()
        # One character over the limit is kept, so a longer password is refused, not cut.
        password = form(request, "password", accounts.MAX_PASSWORD_LENGTH + 1)
        wait = await db(sessions.login_attempt, username, ip, app.ctx.db_url)
        if wait:
            return await too_many(request, username, ip, wait, nxt)
        user = await db(accounts.authenticate, username, password, app.ctx.db_url)
        if user is None:
            await db(audit.record, username or "?", "login_failed", "", ip, url=app.ctx.db_url)
            error = "Wrong username or password."
            if len(password) > accounts.MAX_PASSWORD_LENGTH:
                error += f" Passwords have at most {accounts.MAX_PASSWORD_LENGTH} characters."
            return login_form(request, 401, nxt, error)
        if user["totp"]:
            await db(sessions.login_step_ok, username, ip, app.ctx.db_url)
            pending = await db(
                sessions.create_session, user["id"], app.ctx.db_url, sessions.STAGE_TOTP
            )
            resp = login_form(request, 200, nxt, step="code")
            set_cookie(request, resp, PENDING_COOKIE, pending, max_age=300)
            return resp
        await db(sessions.login_succeeded, username, ip, app.ctx.db_url)
        token = await db(sessions.create_session, user["id"], app.ctx.db_url)
        await db(audit.record, user["username"], "login", "", ip, url=app.ctx.db_url)
        return signed_in(request, token, "/account" if user["role"] == "admin" else nxt)

    async def login_code(request: Request, nxt: str, ip: str):
        """The second step: the password was right; check the TOTP code, rate-limited."""
        token = request.cookies.get(PENDING_COOKIE)
        pending = await db(sessions.get_session, token, app.ctx.db_url, sessions.STAGE_TOTP)
        if pending is None:
            return login_form(request, 401, nxt, "The sign-in expired; enter your password again.")
        wait = await db(sessions.login_attempt, pending.username, ip, app.ctx.db_url)
        if wait:
            return await too_many(request, pending.username, ip, wait, nxt, "code")
        code = form(request, "code", 20)
        if not await db(accounts.totp_verify, pending.user_id, code, app.ctx.db_url):
            await db(
                audit.record, pending.username, "login_code_failed", "", ip, url=app.ctx.db_url
            )
            return login_form(request, 401, nxt, "Wrong code.", "code")
        await db(sessions.end_session, token, app.ctx.db_url)
        await db(sessions.login_succeeded, pending.username, ip, app.ctx.db_url)
        session_token = await db(sessions.create_session, pending.user_id, app.ctx.db_url)
        await db(audit.record, pending.username, "login", "", ip, url=app.ctx.db_url)
        return signed_in(request, session_token, nxt)

    # ----------------------------------------------------------------------------------
    # One's own account: two-factor enrolment
    # ----------------------------------------------------------------------------------
    @app.get("/account", name="account_page")
    async def account_page(request: Request):
        me = request.ctx.user
        enrolment = None
        if not me.totp_enabled:
            enrolment = await db(accounts.totp_enrolment, me.user_id, app.ctx.db_url)
        return render(request, "account.html", enrolment=enrolment)

    @app.post("/account/totp", name="totp_enrol")
    async def totp_enrol(request: Request):
        me = request.ctx.user
        if me.totp_enabled:
            return back("/account")
        code = form(request, "code", 20)
        if not await db(accounts.totp_confirm, me.user_id, code, app.ctx.db_url):
            return back("/account", err="totp_wrong")
        await db(audit.record, me.username, "totp_enrol", me.username, url=app.ctx.db_url)
        return back("/", msg="totp_enrolled")

    @app.post("/logout", name="logout")
    async def logout(request: Request):
        await db(sessions.end_session, request.cookies.get(COOKIE), app.ctx.db_url)
        await db(audit.record, request.ctx.user.username, "logout", url=app.ctx.db_url)
        resp = response.redirect("/login", status=303)
        del resp.cookies[COOKIE]
        return resp

    # ----------------------------------------------------------------------------------
    # Queue
    # ----------------------------------------------------------------------------------
    @app.get("/", name="queue_page")
    async def queue_page(request: Request):
        items = await db(queue_items, app.ctx.db_url)
        return render(request, "queue.html", items=items)

    @app.get("/api/queue", name="queue_api")
    async def queue_api(request: Request):
        items = await db(queue_items, app.ctx.db_url)
        for item in items:
            item.pop("conversation_id")
        return response.json({"items": items})

    # ----------------------------------------------------------------------------------
    # One conversation
    # ----------------------------------------------------------------------------------
    async def conversation(ref: str) -> Optional[dict]:
        if not ref.startswith("conv-") or len(ref) > transcripts.REF_MAX_CHARS:
            return None
        return await db(transcripts.conversation_by_ref, ref, app.ctx.db_url)

    def not_found():
        return response.text("No such conversation.", status=404)

    @app.get("/c/<ref>", name="conversation_page")
    async def conversation_page(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        cid = conv["conversation_id"]
        items = await db(transcripts.transcript, cid, 0, app.ctx.db_url)
        handoff = await db(handoffs.open_handoff_for, cid, app.ctx.db_url)
        notes = await db(transcripts.notes, cid, app.ctx.db_url)
        sms = await db(_sms_status, cid, app.ctx.db_url) if conv["channel"] == "twilio" else None
        await db(
            audit.record, request.ctx.user.username, "view_transcript", ref, url=app.ctx.db_url
        )
        return render(
            request,
            "conversation.html",
            conv=conv,
            items=[i.to_dict() for i in items],
            handoff=handoff,
            notes=notes,
            last_event=items[-1].event_id if items else 0,
            max_reply=MAX_REPLY,
            sms=sms,
            fields={"claimed_by": (handoff or {}).get("claimed_by") or "someone else"},
        )

    @app.get("/api/c/<ref>/events", name="conversation_events")
    async def conversation_events(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return response.json({"error": "no such conversation"}, status=404)
        try:
            after = max(0, int(request.args.get("after", "0")))
        except ValueError:
            return response.json({"error": "after: a number"}, status=400)
        cid = conv["conversation_id"]
        items = await db(transcripts.transcript, cid, after, app.ctx.db_url)
        handoff = await db(handoffs.open_handoff_for, cid, app.ctx.db_url)
        return response.json(
            {
                "items": [i.to_dict() for i in items],
                "handoff": _public_handoff(handoff),
            }
        )

    async def handoff_of(conv: dict) -> Optional[dict]:
        return await db(handoffs.open_handoff_for, conv["conversation_id"], app.ctx.db_url)

    @app.post("/c/<ref>/claim", name="claim")
    async def claim(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        me = request.ctx.user
        handoff = await handoff_of(conv)
        if handoff is None:
            return back(f"/c/{ref}", err="no_handoff_to_claim")
        try:
            claimed = await db(
                handoffs.claim_handoff, handoff["id"], me.display_name, app.ctx.db_url
            )
        except HandoffStateError:
            return back(f"/c/{ref}", err="already_claimed")
        cid = conv["conversation_id"]
        try:
            await client().pause(cid)
        except RasaError as exc:
            # Staff and assistant must never answer at once: no pause, no claim.
            await db(handoffs.release_claim, claimed["id"], me.display_name, app.ctx.db_url)
            logger.warning("claim of %s: could not pause the assistant: %s", ref, exc)
            return back(f"/c/{ref}", err="pause_failed")
        done = "claimed"
        try:
            await client().send_response(cid, "utter_staff_joined", {"staff_name": me.display_name})
        except RasaError as exc:
            logger.warning("claim of %s: the patient was not told: %s", ref, exc)
            done = "claimed_untold"
        await db(
            audit.record, me.username, "claim", ref, f"handoff {claimed['id']}", url=app.ctx.db_url
        )
        return back(f"/c/{ref}", msg=done)

    @app.post("/c/<ref>/reply", name="reply")
    async def reply(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        me = request.ctx.user
        text = form(request, "text", MAX_REPLY + 1).strip()
        if not text:
            return back(f"/c/{ref}", err="write_first")
        if len(text) > MAX_REPLY:
            return back(f"/c/{ref}", err="too_long")
        handoff = await handoff_of(conv)
        if handoff is None or handoff["status"] != "claimed":
            return back(f"/c/{ref}", err="claim_first")
        if handoff["claimed_by"] != me.display_name:
            return back(f"/c/{ref}", err="claimed_by_other")
        try:
            await client().send_staff_message(conv["conversation_id"], me.display_name, text)
        except RasaError as exc:
            logger.warning("reply in %s not sent: %s", ref, exc)
            return back(f"/c/{ref}", err="send_failed")
        await db(
            audit.record, me.username, "reply", ref, f"{len(text)} characters", url=app.ctx.db_url
        )
        if conv["channel"] == "twilio":
            status = await db(_sms_status, conv["conversation_id"], app.ctx.db_url)
            if status["opted_out"]:
                return back(f"/c/{ref}", err="opted_out")
        return back(f"/c/{ref}", msg="sent")

    @app.post("/c/<ref>/resolve", name="resolve")
    async def resolve(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        me = request.ctx.user
        note = form(request, "note", 4000).strip()
        if not note:
            return back(f"/c/{ref}", err="note_needed")
        handoff = await handoff_of(conv)
        if handoff is None:
            return back(f"/c/{ref}", err="no_open_handoff")
        if handoff["status"] == "claimed" and handoff["claimed_by"] != me.display_name:
            if not me.is_admin:
                return back(f"/c/{ref}", err="claimed_by_other")
        cid = conv["conversation_id"]
        if handoff["status"] == "claimed":
            try:
                await client().resume(cid)
            except RasaError as exc:
                logger.warning("resolve of %s: could not resume the assistant: %s", ref, exc)
                return back(f"/c/{ref}", err="resume_failed")
        try:
            await db(handoffs.resolve_handoff, handoff["id"], me.display_name, note, app.ctx.db_url)
        except HandoffStateError:
            return back(f"/c/{ref}", err="resolve_refused")
        except ValueError:
            return back(f"/c/{ref}", err="note_needed")
        done = "resolved"
        if handoff["status"] == "claimed":
            try:
                await client().send_response(
                    cid, "utter_staff_handed_back", {"staff_name": me.display_name}
                )
            except RasaError as exc:
                logger.warning("resolve of %s: the patient was not told: %s", ref, exc)
                done = "resolved_untold"
        await db(
            audit.record,
            me.username,
            "resolve",
            ref,
            f"handoff {handoff['id']}: {note[:500]}",
            url=app.ctx.db_url,
        )
        return back(f"/c/{ref}", msg=done)

    @app.post("/c/<ref>/flag", name="flag")
    async def flag(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        flagged = form(request, "flagged", 10) == "1"
        me = request.ctx.user
        await db(
            transcripts.set_flag, conv["conversation_id"], flagged, me.username, app.ctx.db_url
        )
        action = "flag" if flagged else "unflag"
        await db(audit.record, me.username, action, ref, url=app.ctx.db_url)
        return back(f"/c/{ref}", msg="flagged" if flagged else "unflagged")

    @app.post("/c/<ref>/tags", name="tags")
    async def tags(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        cleaned = transcripts.clean_tags(form(request, "tags", 1000))
        await db(transcripts.set_tags, conv["conversation_id"], cleaned, app.ctx.db_url)
        await db(
            audit.record,
            request.ctx.user.username,
            "tags",
            ref,
            ",".join(cleaned),
            url=app.ctx.db_url,
        )
        return back(f"/c/{ref}", msg="tags_saved")

    @app.post("/c/<ref>/note", name="note")
    async def note(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        text = form(request, "text", 4000)
        try:
            await db(
                transcripts.add_note,
                conv["conversation_id"],
                request.ctx.user.username,
                text,
                app.ctx.db_url,
            )
        except ValueError:
            return back(f"/c/{ref}", err="empty_note")
        await db(audit.record, request.ctx.user.username, "note", ref, url=app.ctx.db_url)
        return back(f"/c/{ref}", msg="note_added")

    @app.get("/c/<ref>/export.json", name="export_json")
    async def export_json(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        data = await db(transcripts.export_json, conv["conversation_id"], app.ctx.db_url)
        await db(audit.record, request.ctx.user.username, "export_json", ref, url=app.ctx.db_url)
        return response.text(
            json.dumps(data, indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{ref}.json"'},
        )

    @app.get("/c/<ref>/print", name="export_print")
    async def export_print(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        data = await db(transcripts.export_json, conv["conversation_id"], app.ctx.db_url)
        await db(audit.record, request.ctx.user.username, "export_print", ref, url=app.ctx.db_url)
        return render(request, "print.html", conv=conv, data=data)

    # ----------------------------------------------------------------------------------
    # Transcripts
    # ----------------------------------------------------------------------------------
    @app.get("/transcripts", name="transcripts_page")
    async def transcripts_page(request: Request):
        try:
            search = transcripts.Search.from_args(request.args)
        except transcripts.SearchError as exc:
            return render(
                request,
                "transcripts.html",
                status=400,
                search=None,
                result=None,
                channels=[],
                error=str(exc),
                args={},
            )
        await db(transcripts.refresh_index, app.ctx.db_url)
        result = await db(transcripts.search_conversations, search, app.ctx.db_url)
        known = await db(transcripts.channels, app.ctx.db_url)
        return render(
            request,
            "transcripts.html",
            search=search,
            result=result,
            channels=known,
            args=search.as_args(),
            query=urlencode(search.as_args()),
        )

    @app.get("/transcripts.csv", name="transcripts_csv")
    async def transcripts_csv(request: Request):
        try:
            search = transcripts.Search.from_args(request.args)
        except transcripts.SearchError as exc:
            return response.text(str(exc), status=400)
        await db(transcripts.refresh_index, app.ctx.db_url)
        body = await db(transcripts.search_csv, search, app.ctx.db_url)
        await db(
            audit.record,
            request.ctx.user.username,
            "export_csv",
            "",
            urlencode(search.as_args()),
            url=app.ctx.db_url,
        )
        return response.text(
            body,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
        )

    # ----------------------------------------------------------------------------------
    # Admin
    # ----------------------------------------------------------------------------------
    async def users_view(request: Request, status: int = 200, error: str = ""):
        users = await db(accounts.list_users, app.ctx.db_url)
        delayed = await db(sessions.throttled_users, app.ctx.db_url)
        for user in users:
            user["failures"], user["wait"] = delayed.get(user["username"], (0, 0.0))
        ctx = {"error": error} if error else {}
        return render(request, "users.html", status=status, users=users, **ctx)

    @app.get("/admin/users", name="users_page")
    async def users_page(request: Request):
        return await users_view(request)

    @app.post("/admin/users", name="users_add")
    async def users_add(request: Request):
        try:
            user = await db(
                accounts.add_user,
                form(request, "username", 64),
                form(request, "password", accounts.MAX_PASSWORD_LENGTH + 1),
                form(request, "display_name", 255),
                form(request, "role", 16) or "staff",
                app.ctx.db_url,
            )
        except accounts.AccountError as exc:
            # The reason is our own text, shown on this response, never carried in a URL.
            return await users_view(request, 400, f"Not created: {exc}.")
        await db(
            audit.record,
            request.ctx.user.username,
            "user_add",
            user["username"],
            user["role"],
            url=app.ctx.db_url,
        )
        return back("/admin/users", msg="user_added")

    @app.post("/admin/users/<user_id:int>/disable", name="users_disable")
    async def users_disable(request: Request, user_id: int):
        if user_id == request.ctx.user.user_id:
            return back("/admin/users", err="self_disable")
        try:
            name = await db(accounts.disable_user, user_id, app.ctx.db_url)
        except accounts.AccountError:
            return back("/admin/users", err="no_account")
        await db(sessions.end_sessions_of, user_id, app.ctx.db_url)
        await db(audit.record, request.ctx.user.username, "user_disable", name, url=app.ctx.db_url)
        return back("/admin/users", msg="user_disabled")

    @app.post("/admin/users/<user_id:int>/unlock", name="users_unlock")
    async def users_unlock(request: Request, user_id: int):
        name = await db(accounts.username_of, user_id, app.ctx.db_url)
        if name is None:
            return back("/admin/users", err="no_account")
        cleared = await db(sessions.unlock, name, app.ctx.db_url)
        detail = "delay cleared" if cleared else "nothing to clear"
        await db(
            audit.record, request.ctx.user.username, "user_unlock", name, detail, url=app.ctx.db_url
        )
        return back("/admin/users", msg="user_unlocked")

    @app.get("/admin/audit", name="audit_page")
    async def audit_page(request: Request):
        actor = (request.args.get("actor") or "").strip()[:64] or None
        rows = await db(audit.entries, 500, actor, app.ctx.db_url)
        return render(request, "audit.html", rows=rows, actor=actor or "")

    @app.get("/admin/retention", name="retention_page")
    async def retention_page(request: Request):
        days = await db(retention_days, app.ctx.db_url)
        preview = await db(apply_retention, days, True, app.ctx.db_url) if days else None
        return render(request, "retention.html", days=days, preview=preview)

    @app.post("/admin/retention", name="retention_set")
    async def retention_set(request: Request):
        try:
            days = int(form(request, "days", 10))
            await db(set_retention_days, days, request.ctx.user.username, app.ctx.db_url)
        except ValueError:
            return back("/admin/retention", err="retention_range")
        return back("/admin/retention", msg="retention_set")

    # ----------------------------------------------------------------------------------
    # Background: index refresh and the watchdog
    # ----------------------------------------------------------------------------------
    async def background_loop():
        interval = float(os.environ.get("CONSOLE_WATCHDOG_INTERVAL", "15"))
        while True:
            try:
                await db(transcripts.refresh_index, app.ctx.db_url)
                await db(escalate_claimed, app.ctx.db_url)
                rasa_client = None
                try:
                    rasa_client = client()
                except RasaError as exc:
                    logger.error("watchdog cannot reach the patient: %s", exc)
                await send_reminders(rasa_client, app.ctx.db_url)
            except Exception:  # the loop must survive a bad round (DB restarting...)
                logger.exception("console background round failed")
            await asyncio.sleep(interval)

    if background:

        @app.after_server_start
        async def start_background(app_, loop):
            app_.add_task(background_loop())

    return app


def _sms_status(phone: str, url: Optional[str] = None) -> dict:
    """SMS opt-out state and undelivered texts of a number (for staff, never logged)."""
    from bot import sms

    return {
        "opted_out": sms.is_opted_out(phone, url),
        "undelivered": sms.deliveries(phone, ("failed", "suppressed"), 20, url),
    }


def _safe_next(value: Optional[str]) -> str:
    """Only local paths: never redirect off-site after login."""
    value = (value or "/").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:300]


def _public_handoff(handoff: Optional[dict]) -> Optional[dict]:
    if handoff is None:
        return None
    return {
        k: handoff[k] for k in ("id", "level", "status", "claimed_by", "categories", "created_at")
    }

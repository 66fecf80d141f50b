"""The staff console: a Sanic web app beside the assistant (``python -m bot console``).

Pages (role needed):
  /login                    sign in (public)
  /                         handoff queue, most urgent first, live (staff)
  /c/<ref>                  one conversation: live transcript, claim, reply, resolve,
                            flag, tags, notes (staff)
  /c/<ref>/export.json      the transcript as JSON (staff)
  /c/<ref>/print            a printable transcript (staff)
  /transcripts              search conversations; /transcripts.csv exports a search (staff)
  /admin/users              accounts (admin)
  /admin/audit              the audit log, read-only (admin)
  /admin/retention          retention days and what the next run would delete (admin)

Conversations are addressed by their redacted reference (``conv-...``), never by the raw
id, so a phone number never lands in a URL, an access log or the audit log. Every POST
needs the session's CSRF token; every page but /login and /health needs a session.
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
from bot.staff.retention import apply_retention, retention_days, set_retention_days
from bot.staff.watchdog import escalate_claimed, send_reminders

logger = logging.getLogger("bot.staff.app")
HERE = Path(__file__).resolve().parent
COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
MAX_REPLY = 1600  # ten SMS segments
MAX_FORM_BYTES = 64 * 1024

# Who may use each route (by route name). Anything not listed needs a staff session.
PUBLIC = {"login_page", "login", "health", "static"}
ADMIN = {
    "users_page",
    "users_add",
    "users_disable",
    "audit_page",
    "retention_page",
    "retention_set",
}

_names = itertools.count()


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
    for h in handoffs.list_handoffs(url=url):
        if h["status"] == "resolved":
            continue
        items.append(
            {
                "id": h["id"],
                "ref": transcripts.ref_for(h["conversation_id"]),
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
        if app.ctx.trust_proxy and request.headers.get("x-forwarded-for"):
            return request.headers["x-forwarded-for"].split(",")[0].strip()[:64]
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

    def render(request: Request, name: str, status: int = 200, **ctx) -> response.HTTPResponse:
        me = getattr(request.ctx, "user", None)
        values = {
            "me": me,
            "csrf": me.csrf_token if me else "",
            "flash": request.args.get("msg", "")[:500],
            "error": request.args.get("err", "")[:500],
            "levels": list(LEVEL_ORDER),
        }
        values.update(ctx)
        body = env.get_template(name).render(**values)
        return response.html(body, status=status)

    def back(path: str, msg: str = "", err: str = "") -> response.HTTPResponse:
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

    @app.post("/login", name="login")
    async def login(request: Request):
        username = form(request, "username", 64).strip().lower()
        password = form(request, "password", 1024)
        nxt = _safe_next(form(request, "next", 300))
        ip = client_ip(request)
        if await db(sessions.login_blocked, username, ip, app.ctx.db_url):
            await db(audit.record, username or "?", "login_blocked", "", ip, url=app.ctx.db_url)
            return render(
                request,
                "login.html",
                status=429,
                login_csrf=request.cookies.get(LOGIN_CSRF_COOKIE, ""),
                next=nxt,
                error="Too many failed attempts. Wait 15 minutes or ask an admin.",
            )
        user = await db(accounts.authenticate, username, password, app.ctx.db_url)
        await db(sessions.record_login, username, ip, user is not None, app.ctx.db_url)
        if user is None:
            await db(audit.record, username or "?", "login_failed", "", ip, url=app.ctx.db_url)
            return render(
                request,
                "login.html",
                status=401,
                login_csrf=request.cookies.get(LOGIN_CSRF_COOKIE, ""),
                next=nxt,
                error="Wrong username or password.",
            )
        token = await db(sessions.create_session, user["id"], app.ctx.db_url)
        await db(audit.record, user["username"], "login", "", ip, url=app.ctx.db_url)
        resp = response.redirect(nxt, status=303)
        set_cookie(request, resp, COOKIE, token)
        del resp.cookies[LOGIN_CSRF_COOKIE]
        return resp

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
        if not ref.startswith("conv-") or len(ref) > 32:
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
            return back(f"/c/{ref}", err="There is no open handoff to claim.")
        try:
            claimed = await db(
                handoffs.claim_handoff, handoff["id"], me.display_name, app.ctx.db_url
            )
        except HandoffStateError as exc:
            return back(f"/c/{ref}", err=str(exc))
        cid = conv["conversation_id"]
        try:
            await client().pause(cid)
        except RasaError as exc:
            # Staff and assistant must never answer at once: no pause, no claim.
            await db(handoffs.release_claim, claimed["id"], me.display_name, app.ctx.db_url)
            return back(f"/c/{ref}", err=f"Could not pause the assistant, not claimed: {exc}")
        warning = ""
        try:
            await client().send_response(cid, "utter_staff_joined", {"staff_name": me.display_name})
        except RasaError as exc:
            warning = f" (the patient was not told: {exc})"
        await db(
            audit.record, me.username, "claim", ref, f"handoff {claimed['id']}", url=app.ctx.db_url
        )
        return back(f"/c/{ref}", msg="Claimed. The assistant is paused." + warning)

    @app.post("/c/<ref>/reply", name="reply")
    async def reply(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        me = request.ctx.user
        text = form(request, "text", MAX_REPLY + 1).strip()
        if not text:
            return back(f"/c/{ref}", err="Write a message first.")
        if len(text) > MAX_REPLY:
            return back(f"/c/{ref}", err=f"Messages are limited to {MAX_REPLY} characters.")
        handoff = await handoff_of(conv)
        if handoff is None or handoff["status"] != "claimed":
            return back(f"/c/{ref}", err="Claim the conversation before replying.")
        if handoff["claimed_by"] != me.display_name:
            return back(f"/c/{ref}", err=f"{handoff['claimed_by']} has claimed this conversation.")
        try:
            await client().send_staff_message(conv["conversation_id"], me.display_name, text)
        except RasaError as exc:
            return back(f"/c/{ref}", err=f"Not sent: {exc}")
        await db(
            audit.record, me.username, "reply", ref, f"{len(text)} characters", url=app.ctx.db_url
        )
        if conv["channel"] == "twilio":
            status = await db(_sms_status, conv["conversation_id"], app.ctx.db_url)
            if status["opted_out"]:
                return back(
                    f"/c/{ref}",
                    err="Stored, but not texted: this number has opted out of SMS "
                    "(STOP). Call the patient instead.",
                )
        return back(f"/c/{ref}", msg="Sent.")

    @app.post("/c/<ref>/resolve", name="resolve")
    async def resolve(request: Request, ref: str):
        conv = await conversation(ref)
        if conv is None:
            return not_found()
        me = request.ctx.user
        note = form(request, "note", 4000).strip()
        if not note:
            return back(f"/c/{ref}", err="Add a closing note to resolve.")
        handoff = await handoff_of(conv)
        if handoff is None:
            return back(f"/c/{ref}", err="There is no open handoff.")
        if handoff["status"] == "claimed" and handoff["claimed_by"] != me.display_name:
            if not me.is_admin:
                return back(f"/c/{ref}", err=f"{handoff['claimed_by']} has claimed this one.")
        cid = conv["conversation_id"]
        if handoff["status"] == "claimed":
            try:
                await client().resume(cid)
            except RasaError as exc:
                return back(f"/c/{ref}", err=f"Could not resume the assistant, not resolved: {exc}")
        try:
            await db(handoffs.resolve_handoff, handoff["id"], me.display_name, note, app.ctx.db_url)
        except (HandoffStateError, ValueError) as exc:
            return back(f"/c/{ref}", err=str(exc))
        warning = ""
        if handoff["status"] == "claimed":
            try:
                await client().send_response(
                    cid, "utter_staff_handed_back", {"staff_name": me.display_name}
                )
            except RasaError as exc:
                warning = f" (the patient was not told: {exc})"
        await db(
            audit.record,
            me.username,
            "resolve",
            ref,
            f"handoff {handoff['id']}: {note[:500]}",
            url=app.ctx.db_url,
        )
        return back(f"/c/{ref}", msg="Resolved. The assistant answers again." + warning)

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
        return back(f"/c/{ref}", msg="Flagged." if flagged else "Flag removed.")

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
        return back(f"/c/{ref}", msg="Tags saved.")

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
        except ValueError as exc:
            return back(f"/c/{ref}", err=str(exc))
        await db(audit.record, request.ctx.user.username, "note", ref, url=app.ctx.db_url)
        return back(f"/c/{ref}", msg="Note added.")

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
    @app.get("/admin/users", name="users_page")
    async def users_page(request: Request):
        users = await db(accounts.list_users, app.ctx.db_url)
        return render(request, "users.html", users=users, min_password=accounts.MIN_PASSWORD_LENGTH)

    @app.post("/admin/users", name="users_add")
    async def users_add(request: Request):
        try:
            user = await db(
                accounts.add_user,
                form(request, "username", 64),
                form(request, "password", 1024),
                form(request, "display_name", 255),
                form(request, "role", 16) or "staff",
                app.ctx.db_url,
            )
        except accounts.AccountError as exc:
            return back("/admin/users", err=str(exc))
        await db(
            audit.record,
            request.ctx.user.username,
            "user_add",
            user["username"],
            user["role"],
            url=app.ctx.db_url,
        )
        return back("/admin/users", msg=f"Account {user['username']} created.")

    @app.post("/admin/users/<user_id:int>/disable", name="users_disable")
    async def users_disable(request: Request, user_id: int):
        if user_id == request.ctx.user.user_id:
            return back("/admin/users", err="You cannot disable your own account.")
        try:
            name = await db(accounts.disable_user, user_id, app.ctx.db_url)
        except accounts.AccountError as exc:
            return back("/admin/users", err=str(exc))
        await db(sessions.end_sessions_of, user_id, app.ctx.db_url)
        await db(audit.record, request.ctx.user.username, "user_disable", name, url=app.ctx.db_url)
        return back("/admin/users", msg=f"Account {name} disabled and signed out.")

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
        except ValueError as exc:
            return back("/admin/retention", err=str(exc) or "days: a whole number")
        return back("/admin/retention", msg=f"Retention set to {days} days.")

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

"""The staff console end to end in a real browser, with a patient on the socket.io channel.

One patient chats over socket.io (the web widget's channel) with the real Rasa server and
action server; a nurse works the handoff in headless Chromium through the real console:
live queue, claim (the assistant pauses), a reply that reaches the patient's own channel,
hostile input shown as text, resolve (the assistant answers again), search, exports and
the admin's audit log. Screenshots land in results/screenshots/console/.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List, Optional

import pytest

from bot.handoff import redact
from tests.conftest import ROOT
from tests.console_support import PASSWORD, remember_totp, totp_code

pytestmark = [pytest.mark.model, pytest.mark.servers]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SHOTS = ROOT / "results" / "screenshots" / "console"
LIVE = 20_000  # ms: the queue polls every 3 s, the transcript every 2 s
PAYLOAD = "<img src=x onerror=alert(1)><script>alert(2)</script>"
FAQ = "what is clonazepam"
BROWSER_IP = "192.0.2.7"  # TEST-NET-1
FAQ_ANSWER = "benzodiazepine"


class Patient:
    """A socket.io chat widget: python-socketio's AsyncClient on its own event loop thread."""

    def __init__(self, base: str) -> None:
        import socketio

        tokens: List[str] = []
        self.received: List[dict] = []
        self._lock = threading.Lock()
        self._confirmed = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def make():
            client = socketio.AsyncClient(reconnection=False)
            client.on("bot_uttered", self._on_bot)
            client.on(
                "session_confirm", lambda token: (tokens.append(token), self._confirmed.set())
            )
            await client.connect(base, transports=["websocket"], socketio_path="/socket.io")
            await client.emit("session_request", {})
            return client

        self._client = self._run(make())
        assert self._confirmed.wait(15), "no session_confirm from the socket.io channel"
        # The server issues the session: a signed token whose first part is the
        # conversation id (bot.channels.web_sessions).
        self.token = tokens[0]
        self.session_id = self.token.split(".")[0]

    def _run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _on_bot(self, data: dict) -> None:
        with self._lock:
            self.received.append(data)

    def texts(self, since: int = 0) -> List[str]:
        with self._lock:
            return [m.get("text") or "" for m in self.received[since:]]

    def say(self, text: str) -> int:
        """Send a message; the number of bot messages received before it (for wait_for)."""
        before = len(self.texts())
        self._run(self._client.emit("user_uttered", {"message": text, "session_id": self.token}))
        return before

    def wait_for(
        self, since: int, check: Callable[[str], bool], what: str, timeout: float = 60
    ) -> str:
        """The first bot message after ``since`` that passes ``check``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.texts(since):
                if check(text):
                    return text
            time.sleep(0.1)
        raise AssertionError(f"the patient never got {what}; got {self.texts(since)!r}")

    def close(self) -> None:
        try:
            self._run(self._client.disconnect(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


@pytest.fixture(scope="module")
def browser():
    # No skip: `make test` installs Debian's chromium (`make browser`) before the tests.
    assert CHROMIUM.exists(), "Debian's chromium is missing: run `make browser`"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _login(page, base: str, username: str, shot: Optional[str] = None) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    if shot:
        _shot(page, shot)
    page.get_by_role("button", name="Sign in").click()
    if page.locator("#code").count():  # two-factor on: the code from the "phone"
        page.fill("#code", totp_code(base, username))
        page.get_by_role("button", name="Sign in").click()
    if page.locator("#totp-secret").count():  # an admin enrols before anything else
        import pyotp

        secret = page.locator("#totp-secret").inner_text().strip()
        remember_totp(base, username, secret)
        page.fill("#totp-code", pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
        page.goto(base + "/")
    expect(page).to_have_url(base + "/")
    expect(page.locator("header .who")).to_contain_text(
        f"({'admin' if username == 'ada' else 'staff'})"
    )


def test_a_nurse_takes_over_a_crisis_chat_in_the_browser(console, browser):
    from playwright.sync_api import expect

    base = console.base
    token = f"zebra-{uuid.uuid4().hex[:8]}"
    reply = f"Hello, I am here with you now. Are you safe right now? ({uuid.uuid4().hex[:6]})"
    dialogs: List[str] = []
    page_errors: List[str] = []

    # Its own client address (the console trusts X-Forwarded-For here), so failed sign-ins
    # in other tests never lock this one out.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        extra_http_headers={"X-Forwarded-For": BROWSER_IP},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    patient = Patient(console.stack.base)
    sid = patient.session_id
    ref = redact(sid)
    try:
        # 1a. An ordinary question gets an ordinary answer on the patient's channel.
        since = patient.say(FAQ)
        patient.wait_for(since, lambda t: FAQ_ANSWER in t, "the FAQ answer")

        # 2. The console sends a stranger to the login page; sam signs in.
        _login(page, base, "sam", shot="login.png")
        expect(page.locator("#queue")).to_be_visible()
        page.evaluate("window.__notReloaded = true")
        entry = page.locator("#queue li.handoff").filter(has_text=ref)
        expect(entry).to_have_count(0)

        # 1b. Then the crisis: resources first, on the patient's own channel.
        since = patient.say("I want to end my life, I have a plan")
        patient.wait_for(since, lambda t: "988" in t, "crisis resources (988)")
        since = patient.say(f"{PAYLOAD} i dont want to be alive anymore")
        patient.wait_for(since, lambda t: "988" in t, "crisis resources again (988)")

        # 3. The queue shows the new handoff by itself, no reload.
        expect(entry).to_have_count(1, timeout=LIVE)
        assert page.evaluate("window.__notReloaded === true"), "the queue page was reloaded"
        expect(entry.locator(".level")).to_have_text(re.compile(r"^(crisis|emergency)$"))
        expect(entry.locator("a.open")).to_have_text(f"Conversation {ref}")
        expect(entry.locator(".channel")).to_have_text("socketio")
        expect(entry.locator(".status")).to_have_text("open")
        expect(entry).to_contain_text(PAYLOAD)  # the hostile text, as text
        assert page.locator("img[src=x]").count() == 0
        _shot(page, "queue.png")
        page.set_viewport_size({"width": 390, "height": 844})
        _shot(page, "queue-phone.png")
        page.set_viewport_size({"width": 1280, "height": 900})

        # 4. Open it and claim: the assistant pauses and the patient is told who joined.
        entry.locator("a.open").click()
        expect(page).to_have_url(f"{base}/c/{ref}")
        expect(page.locator("h1")).to_contain_text(ref)
        since = len(patient.texts())
        page.locator("#claim").click()
        expect(page.locator(".flash")).to_contain_text("Claimed. The assistant is paused.")
        expect(page.locator("#handoff-state")).to_contain_text("claimed by Sam (RN)")
        patient.wait_for(
            since, lambda t: "has joined" in t and "Sam (RN)" in t, "the 'has joined' message"
        )

        since = patient.say(f"ok thank you, my code word is {token}")
        sent_at = time.monotonic()
        user_lines = page.locator("#transcript li.msg-user")
        expect(user_lines.filter(has_text=token)).to_have_count(1, timeout=LIVE)
        time.sleep(max(0.0, 3.0 - (time.monotonic() - sent_at)))
        assert patient.texts(since) == [], "the assistant answered while paused"

        # 5. The reply reaches the patient's own channel, with the nurse's name.
        since = len(patient.texts())
        page.fill("#reply-text", reply)
        page.locator("#send").click()
        expect(page.locator(".flash")).to_have_text("Sent.")
        patient.wait_for(
            since, lambda t: reply in t and "Sam (RN)" in t, "the nurse's reply with her name"
        )
        expect(page.locator("#transcript li.msg-staff").filter(has_text=reply)).to_have_count(1)
        _shot(page, "conversation.png")

        # 6. Hostile input is shown as text and never runs.
        hostile = page.locator("#transcript li.msg-user .text").filter(has_text=PAYLOAD)
        expect(hostile).to_have_count(1)
        expect(hostile).to_contain_text("<script>alert(2)</script>")
        assert page.locator("img[src=x]").count() == 0
        assert page.locator("script:not([src])").count() == 0
        assert dialogs == [], f"a JavaScript dialog opened: {dialogs!r}"

        # 7. Resolve: the patient is handed back and the assistant answers again.
        since = len(patient.texts())
        page.fill("#resolve-note", "Patient safe with family tonight; follow-up call booked.")
        page.locator("#resolve").click()
        expect(page.locator(".flash")).to_contain_text("Resolved. The assistant answers again.")
        expect(page.locator("#handoff-state")).to_contain_text("No open handoff.")
        expect(page.locator("#claim")).to_have_count(0)
        expect(page.locator("#reply-text")).to_have_count(0)
        patient.wait_for(
            since,
            lambda t: "handed this conversation back" in t and "Sam (RN)" in t,
            "the 'handed back' message",
        )
        since = patient.say(FAQ)
        patient.wait_for(since, lambda t: FAQ_ANSWER in t, "an ordinary answer after resolve")
        expect(page.locator("#transcript li.msg-bot").filter(has_text=FAQ_ANSWER)).to_have_count(
            2, timeout=LIVE
        )

        # 8. Search by a word the patient wrote; export CSV, JSON and a printable page.
        page.get_by_role("link", name="Transcripts").click()
        expect(page).to_have_url(re.compile(r"/transcripts$"))
        page.fill("#q", token)
        page.locator("#search").click()
        expect(page).to_have_url(re.compile(r"/transcripts\?.*q=" + token))
        results = page.locator("table.results tbody tr")
        expect(results).to_have_count(1)
        expect(results.first).to_contain_text(ref)
        expect(results.first).to_contain_text("socketio")
        expect(results.first).to_contain_text("resolved")
        _shot(page, "transcripts.png")
        csv_response = page.request.get(base + page.locator("#csv").get_attribute("href"))
        assert csv_response.ok, csv_response.status
        assert csv_response.headers["content-type"].startswith("text/csv")
        csv_text = csv_response.text()
        assert csv_text.startswith("conversation_id,"), csv_text[:200]
        assert sid in csv_text and len(csv_text.strip().splitlines()) == 2, csv_text

        results.first.get_by_role("link", name=ref).click()
        expect(page).to_have_url(f"{base}/c/{ref}")
        export = page.request.get(
            base + page.get_by_role("link", name="Export JSON").get_attribute("href")
        )
        assert export.ok, export.status
        data = json.loads(export.text())
        staff = [m for m in data["messages"] if m["kind"] == "staff"]
        assert any(reply in m["text"] for m in staff), staff
        assert any(PAYLOAD in m["text"] for m in data["messages"] if m["kind"] == "user")

        page.get_by_role("link", name="Printable page").click()
        expect(page).to_have_url(f"{base}/c/{ref}/print")
        expect(page.locator("tr.msg-staff").filter(has_text=reply)).to_have_count(1)
        expect(page.locator("body")).to_contain_text(PAYLOAD)
        expect(page.locator("p.handoff")).to_contain_text("resolved by Sam (RN)")
        assert page.locator("img[src=x]").count() == 0
        _shot(page, "print.png")

        # 9. The admin sees every step in the audit log.
        page.goto(base + "/")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        _login(page, base, "ada")
        page.get_by_role("link", name="Audit log").click()
        expect(page).to_have_url(base + "/admin/audit")
        rows = page.locator("#audit tbody tr")
        expect(rows.first).to_be_visible()
        cells = rows.evaluate_all(
            "rows => rows.map(r => Array.from(r.cells, c => c.textContent.trim()))"
        )
        by_sam = [
            (action, target, detail)
            for _at, actor, action, target, detail in cells
            if actor == "sam"
        ]
        for action in (
            "view_transcript",
            "claim",
            "reply",
            "resolve",
            "export_json",
            "export_print",
        ):
            assert any(row[:2] == (action, ref) for row in by_sam), (action, by_sam)
        assert ("reply", ref, f"{len(reply)} characters") in by_sam, by_sam
        assert any(a == "export_csv" and f"q={token}" in d for a, _t, d in by_sam), by_sam
        assert ("login", "", BROWSER_IP) in by_sam, by_sam
        assert ("logout", "", "") in by_sam, by_sam
        # Conversations appear by reference only: the raw id is nowhere in the log.
        assert sid not in json.dumps(cells)
        _shot(page, "audit.png")
        page.get_by_role("link", name="Users").click()
        expect(page.locator("table.results")).to_contain_text("Sam (RN)")
        _shot(page, "users.png")
        page.get_by_role("link", name="Retention").click()
        expect(page.locator("h1")).to_have_text("Retention")
        _shot(page, "retention.png")
    finally:
        patient.close()
        context.close()
    assert dialogs == [], f"a JavaScript dialog opened: {dialogs!r}"
    assert page_errors == [], f"JavaScript errors: {page_errors!r}"

"""The website chat widget in a real browser, against the real Rasa and action servers.

Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) opens the demo page
the Rasa server serves, chats through the bubble over socket.io, reloads, loses and gets
back its connection, gets the crisis panel, and a nurse takes over in the real staff
console. Screenshots land in results/screenshots/widget/.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import List

import pytest

from bot.crisis import shown_resources
from bot.handoff import redact
from bot.settings import clinic_config
from tests.conftest import ROOT
from tests.console_support import Staff

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
SHOTS = ROOT / "results" / "screenshots" / "widget"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
REPLY_MS = 60_000  # a reply from the assistant (NLU, policies, action server)
W = "#rasa-chat-widget"
HOSTILE = "<img src=x onerror=alert(1)>"

# Contrast of an element's text against the first opaque background behind it.
CONTRAST_JS = """el => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const fg = rgb(getComputedStyle(el).color);
  let node = el, bg = [255, 255, 255];
  while (node && node.nodeType === 1) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) { bg = c; break; }
    node = node.parentElement || (node.getRootNode() && node.getRootNode().host);
  }
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""

# Records whether the typing indicator was shown, and every connection status text.
WATCH_JS = """() => {
  const root = document.querySelector('#rasa-chat-widget').shadowRoot;
  const typing = root.querySelector('.typing'), status = root.querySelector('.status');
  window.__typingSeen = false;
  window.__statuses = [];
  new MutationObserver(() => { if (!typing.hidden) window.__typingSeen = true; })
    .observe(typing, {attributes: true});
  new MutationObserver(() => window.__statuses.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}"""

SESSION_JS = """() => {
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (key.startsWith('rasaChatWidget:') && key.endsWith(':session'))
      return JSON.parse(localStorage.getItem(key));
  }
  return null;
}"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page with its dialogs, JavaScript errors and every URL it asked for."""

    def __init__(self, browser, viewport: dict) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.dialogs: List[str] = []
        self.errors: List[str] = []
        self.urls: List[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.urls.append(r.url))
        self.page.on("websocket", lambda ws: self.urls.append(ws.url))

    def check(self, base: str) -> None:
        """No dialog, no script error, nothing fetched from anywhere but the Rasa server."""
        ws_base = base.replace("http", "ws", 1)
        foreign = [u for u in self.urls if not u.startswith((base + "/", ws_base + "/"))]
        assert self.dialogs == [], f"a JavaScript dialog opened: {self.dialogs!r}"
        assert self.errors == [], f"JavaScript errors: {self.errors!r}"
        assert foreign == [], f"requests to other origins: {foreign!r}"

    def close(self) -> None:
        self.context.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def _contrast(locator) -> float:
    return locator.evaluate(CONTRAST_JS)


def _expected_links(variant: str) -> set:
    """tel: and sms: links the crisis panel must offer, from clinic.yml."""
    cfg = clinic_config()
    links = {f"tel:{cfg.emergency.tel}"} if cfg.emergency.tel else set()
    for r in shown_resources(cfg, variant):
        if r.tel:
            links.add(f"tel:{r.tel}")
        if r.sms:
            links.add(f"sms:{r.sms}" + (f"?&body={r.sms_body}" if r.sms_body else ""))
    return links


def test_a_patient_chats_reloads_gets_crisis_help_and_a_nurse_takes_over(stack, console, browser):
    from playwright.sync_api import expect

    cfg = clinic_config()
    demo = f"{stack.base}/webhooks/widget/demo"
    w = Watched(browser, DESKTOP)
    page = w.page
    bubble = page.locator(f"{W} .bubble")
    panel = page.locator(f"{W} [role=dialog]")
    log = page.locator(f"{W} [role=log]")
    bot = page.locator(f"{W} .msg.bot .text")
    user = page.locator(f"{W} .msg.user .text")
    staff_msg = page.locator(f"{W} .msg.staff")
    notices = page.locator(f"{W} .msg.notice .text")
    crisis = page.locator(f"{W} .crisis")
    status = page.locator(f"{W} .status")
    typing = page.locator(f"{W} .typing")
    field = page.locator(f"{W} textarea")
    try:
        # 1. The demo page: the clinic's name, the bubble, nothing open yet.
        page.goto(demo)
        expect(page.locator("header .brand")).to_have_text(cfg.clinic.name)
        expect(bubble).to_be_visible()
        expect(bubble).to_have_attribute("aria-expanded", "false")
        expect(panel).to_be_hidden()
        _shot(page, "desktop-closed.png")

        # 2. Open: the panel is a labelled dialog, focus is in the message field, and the
        # initial message from the script tag is there.
        bubble.click()
        expect(panel).to_be_visible()
        expect(panel).to_have_attribute("aria-labelledby", "hlw-title")
        expect(page.locator(f"{W} #hlw-title")).to_have_text(f"Chat with {cfg.clinic.name}")
        expect(log).to_have_attribute("aria-live", "polite")
        expect(field).to_be_focused()
        expect(bot.first).to_contain_text(f"I'm the {cfg.clinic.name} assistant")

        # 3. A FAQ question: the typing indicator shows, then the answer and its sources.
        page.evaluate(WATCH_JS)
        field.fill("what is klonopin?")
        field.press("Enter")
        expect(user.last).to_have_text("what is klonopin?")
        expect(bot.filter(has_text="benzodiazepine")).to_have_count(1, timeout=REPLY_MS)
        expect(page.locator(f"{W} .msg.sources")).to_have_count(1)
        assert page.evaluate("window.__typingSeen"), "no typing indicator after sending"
        expect(typing).to_be_hidden()
        _shot(page, "desktop-faq.png")

        # 4. Reload: the same conversation, still open, same session.
        session = page.evaluate(SESSION_JS)
        # The server issued it: web-<32 hex>.<signature> (bot.channels.web_sessions).
        assert session and re.fullmatch(r"web-[0-9a-f]{32}\.[A-Za-z0-9_-]{43}", session), session
        page.reload()
        expect(panel).to_be_visible()
        expect(user).to_have_count(1)
        expect(user.first).to_have_text("what is klonopin?")
        expect(bot.filter(has_text="benzodiazepine")).to_have_count(1)
        expect(page.locator(f"{W} .msg").last).to_be_in_viewport()  # scrolled to the end
        assert page.evaluate(SESSION_JS) == session

        # 5. The connection drops: the widget says so, reconnects and says that too.
        page.evaluate(WATCH_JS)
        page.evaluate("window.RasaChatWidget.socket().io.engine.close()")
        expect(status).to_have_text("Reconnected.", timeout=20_000)
        statuses = page.evaluate("window.__statuses")
        assert any("Connection lost" in s for s in statuses), statuses

        # 6. A crisis message (on the new connection): the resources in the chat and a
        # pinned panel with tap-to-call and tap-to-text links from clinic.yml.
        field.fill("I want to kill myself")
        field.press("Enter")
        first = cfg.resources[0]
        expect(bot.filter(has_text=first.how)).to_have_count(1, timeout=REPLY_MS)
        expect(crisis).to_be_visible()
        links = crisis.locator("a")
        expect(links.first).to_be_visible()
        hrefs = set(links.evaluate_all("as => as.map(a => a.getAttribute('href'))"))
        assert hrefs == _expected_links("ideation"), hrefs
        expect(crisis.locator(f'a[href="tel:{first.tel}"]')).to_have_text(f"Call {first.tel}")
        texted = [r for r in cfg.resources if r.sms and r.sms_body][0]
        expect(crisis.locator(f'a[href^="sms:{texted.sms}"]')).to_have_text(
            f"Text {texted.sms_body} to {texted.sms}"
        )
        expect(crisis).to_contain_text(cfg.emergency.how)
        expect(bot.filter(has_text="alerted")).to_have_count(1, timeout=REPLY_MS)
        _shot(page, "desktop-crisis.png")
        page.set_viewport_size(PHONE)
        _shot(page, "phone-crisis.png")
        page.set_viewport_size(DESKTOP)

        # The crisis panel survives a reload.
        page.reload()
        expect(crisis).to_be_visible()
        expect(crisis.locator(f'a[href="tel:{first.tel}"]')).to_be_visible()

        # 7. A nurse claims the conversation in the console and replies; the widget shows
        # who joined and marks the reply as staff. Markup in a reply stays text.
        ref = redact(session.split(".")[0])  # the token names the conversation id
        nurse = Staff(console.base)
        assert nurse.login("sam").ok
        assert nurse.page(f"/c/{ref}").ok
        assert "Claimed" in nurse.submit(f"/c/{ref}/claim").text
        expect(notices.filter(has_text="has joined this conversation")).to_contain_text(
            "Sam (RN)", timeout=REPLY_MS
        )
        # The patient closed the chat: the reply still arrives, and the bubble says so.
        field.click()
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(bubble).to_be_focused()
        tag = uuid.uuid4().hex[:6]
        reply = f"I'm here with you now. {HOSTILE} More: https://example.org/help. ({tag})"
        nurse.page(f"/c/{ref}")
        assert "Sent." in nurse.submit(f"/c/{ref}/reply", {"text": reply}).text
        expect(page.locator(f"{W} .bubble .dot")).to_be_visible(timeout=REPLY_MS)
        expect(bubble).to_have_attribute("aria-label", re.compile(r"\(new message\)$"))
        bubble.click()
        expect(page.locator(f"{W} .bubble .dot")).to_be_hidden()
        expect(staff_msg).to_have_count(1)
        expect(staff_msg.locator(".who")).to_have_text("Sam (RN) (staff)")
        expect(staff_msg.locator(".text")).to_have_text(reply)
        link = staff_msg.locator("a")
        expect(link).to_have_attribute("href", "https://example.org/help")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
        expect(link).to_have_attribute("target", "_blank")
        assert page.locator(f"{W} img").count() == 0 and page.locator("img").count() == 0
        expect(crisis).to_be_visible()

        # The patient writes while a person has the conversation: no typing indicator.
        page.evaluate(WATCH_JS)
        field.fill(f"thank you {HOSTILE}")
        field.press("Enter")
        expect(user.last).to_have_text(f"thank you {HOSTILE}")
        page.wait_for_timeout(500)
        assert not page.evaluate("window.__typingSeen"), "typing indicator while staff have it"

        # Text contrast (WCAG AA, 4.5:1) for everything on screen now.
        for selector in (
            ".bubble",
            ".head h2",
            ".msg.user .text",
            ".msg.bot .text",
            ".msg.staff .who",
            ".msg.staff .text",
            ".msg.notice .text",
            ".msg.sources .text",
            ".crisis h3",
            ".crisis .how",
            ".crisis a.call",
            ".crisis a.text",
            ".compose button",
        ):
            ratio = _contrast(page.locator(f"{W} {selector}").first)
            assert ratio >= 4.5, (selector, ratio)
        _shot(page, "desktop-staff.png")
        page.set_viewport_size(PHONE)
        _shot(page, "phone-staff.png")
        page.set_viewport_size(DESKTOP)

        # 8. The nurse resolves: the widget is handed back and the crisis panel clears,
        # also after a reload.
        nurse.page(f"/c/{ref}")
        resolved = nurse.submit(f"/c/{ref}/resolve", {"note": "Safe at home; follow-up booked."})
        assert "Resolved" in resolved.text
        expect(notices.filter(has_text="handed this conversation back")).to_have_count(
            1, timeout=REPLY_MS
        )
        expect(crisis).to_be_hidden()
        page.reload()
        expect(panel).to_be_visible()
        expect(crisis).to_be_hidden()
        expect(staff_msg.locator(".text")).to_have_text(reply)
        expect(notices.last).to_be_in_viewport()
        _shot(page, "desktop-resolved.png")
    finally:
        w.close()
    w.check(stack.base)


def test_the_widget_works_with_the_keyboard_alone(stack, browser):
    from playwright.sync_api import expect

    w = Watched(browser, DESKTOP)
    page = w.page
    try:
        page.goto(f"{stack.base}/webhooks/widget/demo")
        bubble = page.locator(f"{W} .bubble")
        expect(bubble).to_be_visible()
        for _ in range(15):
            page.keyboard.press("Tab")
            if page.evaluate(
                "() => { const a = document.activeElement; return a && a.id === "
                "'rasa-chat-widget' && a.shadowRoot.activeElement.classList.contains('bubble') }"
            ):
                break
        else:
            raise AssertionError("Tab never reached the chat bubble")
        expect(bubble).to_be_focused()
        outline = bubble.evaluate("b => getComputedStyle(b).outlineStyle")
        assert outline == "solid", "no visible focus on the bubble"
        _shot(page, "desktop-bubble-focus.png")

        page.keyboard.press("Enter")
        panel = page.locator(f"{W} [role=dialog]")
        expect(panel).to_be_visible()
        expect(page.locator(f"{W} textarea")).to_be_focused()
        expect(bubble).to_have_attribute("aria-expanded", "true")

        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(bubble).to_be_focused()
        expect(bubble).to_have_attribute("aria-expanded", "false")
    finally:
        w.close()
    w.check(stack.base)


def test_on_a_phone_the_panel_fills_the_screen_and_buttons_answer_the_screener(stack, browser):
    """Quick-reply buttons send their payload; a yes to question 2 brings the crisis panel."""
    from playwright.sync_api import expect

    w = Watched(browser, PHONE)
    page = w.page
    try:
        page.goto(f"{stack.base}/webhooks/widget/demo")
        page.locator(f"{W} .bubble").click()
        panel = page.locator(f"{W} [role=dialog]")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box == {"x": 0, "y": 0, **PHONE}, box
        expect(page.locator(f"{W} .bubble")).to_be_hidden()
        _shot(page, "phone-open.png")

        field = page.locator(f"{W} textarea")
        field.fill("honestly i feel so hopeless lately, whats the point of anything")
        field.press("Enter")
        replies = page.locator(f"{W} .replies button")
        bot = page.locator(f"{W} .msg.bot .text")
        user = page.locator(f"{W} .msg.user .text")
        expect(bot.filter(has_text="wished you were dead")).to_have_count(1, timeout=REPLY_MS)
        expect(replies).to_have_text(["Yes", "No"])
        _shot(page, "phone-quick-replies.png")

        # Each click shows the button's title, sends its payload and removes the buttons;
        # the next question comes with its own.
        for answer, next_question in (
            ("Yes", "actual thoughts of killing yourself"),
            ("Yes", "thinking about how"),
            ("No", "intention of acting"),
            ("No", "details of how"),
            ("No", "done anything"),
        ):
            page.locator(f"{W} .replies").get_by_role("button", name=answer).click()
            expect(user.last).to_have_text(answer)
            expect(bot.filter(has_text=next_question)).to_have_count(1, timeout=REPLY_MS)
            expect(replies).to_have_count(2)
        page.locator(f"{W} .replies").get_by_role("button", name="No").click()
        expect(replies).to_have_count(0)

        # The screener's triage is a crisis: the pinned panel, as after a crisis message.
        crisis = page.locator(f"{W} .crisis")
        expect(crisis).to_be_visible(timeout=REPLY_MS)
        hrefs = set(crisis.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))"))
        assert hrefs == _expected_links("ideation"), hrefs
        _shot(page, "phone-screener-crisis.png")

        # Clear (pressed twice) forgets the conversation on this device: messages, crisis
        # panel and session; the next message starts a new conversation.
        session = page.evaluate(SESSION_JS)
        clear = page.locator(f"{W} .clear")
        clear.click()
        expect(clear).to_have_text("Clear? Press again")
        clear.click()
        expect(crisis).to_be_hidden()
        expect(user).to_have_count(0)
        expect(bot).to_have_count(1)  # the initial message
        page.wait_for_function(
            f"() => {{ const s = ({SESSION_JS})(); return s && s !== {session!r}; }}"
        )
        field.fill("what is klonopin?")
        field.press("Enter")
        expect(bot.filter(has_text="benzodiazepine")).to_have_count(1, timeout=REPLY_MS)
    finally:
        w.close()
    w.check(stack.base)

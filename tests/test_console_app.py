"""Staff console access control, CSRF, sessions, login limits, headers, hostile input.

Every route of the app is enumerated from the app itself, so a route added later without
protection fails here. The console runs as a real server (``python -m bot console``)
beside the real Rasa server; see the ``console`` fixture in tests/conftest.py.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from bot.handoff import redact
from bot.staff import audit
from bot.staff.app import ADMIN, PUBLIC, create_app
from tests.console_support import PASSWORD, Staff

pytestmark = [pytest.mark.model, pytest.mark.servers]


def _routes():
    app = create_app(background=False)
    out = []
    for route in app.router.routes:
        name = route.name.split(".")[-1]
        if name in PUBLIC:
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            out.append((method, "/" + route.path, name))
    return out


ROUTES = _routes()


def _concrete(path: str, ref: str, user_id: int) -> str:
    path = re.sub(r"<ref(:str)?>", ref, path)
    return re.sub(r"<user_id(:int)?>", str(user_id), path)


@pytest.fixture(scope="module")
def conversation(console):
    """A conversation with a crisis handoff, made by talking to the bot."""
    sender = "acl-" + uuid.uuid4().hex[:8]
    assert "988" in console.stack.say_text(sender, "i want to kill myself")
    return sender, redact(sender)


def test_every_protected_route_is_listed_and_the_public_ones_are_few():
    names = {name for _, _, name in ROUTES}
    assert PUBLIC == {"login_page", "login", "health", "static"}
    assert ADMIN <= names
    assert len(ROUTES) >= 20


@pytest.mark.parametrize("method,path,name", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_anonymous_users_are_refused_everywhere(console, conversation, method, path, name):
    url = console.base + _concrete(path, conversation[1], console.users["sam"]["id"])
    anonymous = Staff(console.base)
    response = anonymous.request(method, url, allow_redirects=False, data={"text": "x"})
    if method == "GET" and not path.startswith("/api/"):
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == 401


@pytest.mark.parametrize(
    "method,path,name",
    [r for r in ROUTES if r[2] in ADMIN],
    ids=[f"{m} {p}" for m, p, n in ROUTES if n in ADMIN],
)
def test_staff_role_is_refused_admin_routes(console, conversation, method, path, name):
    sam = Staff(console.base)
    assert sam.login("sam").ok
    url = console.base + _concrete(path, conversation[1], console.users["ada"]["id"])
    response = sam.request(
        method, url, allow_redirects=False, data={"csrf_token": sam.csrf, "days": "1"}
    )
    assert response.status_code == 403


def test_admin_can_open_admin_pages(console):
    ada = Staff(console.base)
    assert ada.login("ada").ok
    for path in ("/admin/users", "/admin/audit", "/admin/retention"):
        assert ada.page(path).status_code == 200, path


@pytest.mark.parametrize(
    "method,path,name",
    [r for r in ROUTES if r[0] == "POST"],
    ids=[f"{m} {p}" for m, p, n in ROUTES if m == "POST"],
)
def test_every_post_needs_the_sessions_csrf_token(console, conversation, method, path, name):
    ada = Staff(console.base)
    assert ada.login("ada").ok
    url = console.base + _concrete(path, conversation[1], console.users["sam"]["id"])
    for token in (None, "wrong-token", Staff(console.base).csrf):
        data = {"text": "x", "note": "x", "days": "30", "flagged": "1"}
        if token is not None:
            data["csrf_token"] = token
        response = ada.post(url, data=data, allow_redirects=False)
        assert response.status_code == 403, (path, token)
    # Another signed-in user's token does not work either.
    sam = Staff(console.base)
    assert sam.login("sam").ok
    response = ada.post(url, data={"csrf_token": sam.csrf, "text": "x"}, allow_redirects=False)
    assert response.status_code == 403


def test_login_form_needs_its_csrf_cookie(console):
    attacker = Staff(console.base)
    response = attacker.post(
        console.base + "/login",
        data={"username": "sam", "password": PASSWORD, "csrf_token": "forged"},
        allow_redirects=False,
    )
    assert response.status_code == 403
    assert "console_session" not in response.headers.get("Set-Cookie", "")


def test_session_cookie_is_httponly_samesite_and_secure_only_over_https(console):
    plain = Staff(console.base)
    plain.page("/login")
    response = plain.submit(
        "/login", {"username": "sam", "password": PASSWORD}, allow_redirects=False
    )
    cookie = response.headers["Set-Cookie"]
    assert response.status_code == 303
    assert "console_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie

    # Behind a TLS proxy: every cookie is Secure (so a client on plain http would not
    # send it back; the test sends the login form's cookie by hand, as a browser on https would).
    behind_tls = Staff(console.base)
    page = behind_tls.page("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in page.headers["Set-Cookie"]
    login_csrf = page.cookies["console_login_csrf"]
    response = requests.post(
        console.base + "/login",
        data={"username": "sam", "password": PASSWORD, "csrf_token": behind_tls.csrf},
        headers={"X-Forwarded-Proto": "https", "Cookie": f"console_login_csrf={login_csrf}"},
        allow_redirects=False,
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]
    assert "max-age=31536000" in response.headers.get("Strict-Transport-Security", "")


def test_wrong_password_is_refused_and_audited(console):
    who = "nobody-" + uuid.uuid4().hex[:6]
    client = Staff(console.base)
    response = client.login(who, "not the password at all", headers={"X-Forwarded-For": "10.1.1.1"})
    assert response.status_code == 401
    assert "console_session" not in client.cookies
    assert any(e["action"] == "login_failed" for e in audit.entries(50, who, console.db_url))


def test_login_attempts_are_rate_limited_per_username(console):
    from bot.staff.accounts import add_user

    add_user("lockme", PASSWORD, "Lock Me", url=console.db_url)
    client = Staff(console.base)
    headers = {"X-Forwarded-For": "10.2.2.2"}
    for _ in range(5):
        assert client.login("lockme", "wrong password here", headers=headers).status_code == 401
    # Even the right password is refused while blocked, from any address.
    blocked = client.login("lockme", PASSWORD, headers={"X-Forwarded-For": "10.3.3.3"})
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.text
    assert "console_session" not in client.cookies


def test_login_attempts_are_rate_limited_per_address(console):
    client = Staff(console.base)
    headers = {"X-Forwarded-For": "10.4.4.4"}
    for i in range(20):
        response = client.login(f"spray{i}", "wrong password here", headers=headers)
        assert response.status_code == 401
    assert client.login("sam", PASSWORD, headers=headers).status_code == 429
    # Another address is unaffected.
    assert Staff(console.base).login("sam", headers={"X-Forwarded-For": "10.5.5.5"}).ok


def test_logout_ends_the_session(console):
    sam = Staff(console.base)
    assert sam.login("sam").ok
    token = sam.cookies["console_session"]
    assert sam.submit("/logout").url.endswith("/login")
    stale = Staff(console.base)
    stale.cookies.set("console_session", token)
    assert stale.get(console.base + "/api/queue").status_code == 401


def test_idle_sessions_expire(console):
    from bot.staff.sessions import _hash
    from bot.storage.db import session_scope
    from bot.storage.models import StaffSession

    sam = Staff(console.base)
    assert sam.login("sam").ok
    token = sam.cookies["console_session"]
    assert sam.get(console.base + "/api/queue").status_code == 200
    # This session goes 31 minutes idle (the default limit is 30).
    with session_scope(console.db_url) as session:
        row = session.query(StaffSession).filter(StaffSession.token_hash == _hash(token)).one()
        row.last_seen = row.last_seen - timedelta(minutes=31)
    response = sam.get(console.base + "/", allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")


def test_disabled_account_is_signed_out_at_once(console):
    from bot.staff.accounts import add_user

    user = add_user("leaver", PASSWORD, "Leaver", url=console.db_url)
    leaver = Staff(console.base)
    assert leaver.login("leaver").ok
    ada = Staff(console.base)
    assert ada.login("ada").ok
    ada.page("/admin/users")
    assert "disabled and signed out" in ada.submit(f"/admin/users/{user['id']}/disable").text
    assert leaver.get(console.base + "/api/queue").status_code == 401
    assert Staff(console.base).login("leaver").status_code == 401


def test_admin_creates_accounts_with_strong_passwords_only(console):
    ada = Staff(console.base)
    assert ada.login("ada").ok
    ada.page("/admin/users")
    weak = ada.submit(
        "/admin/users", {"username": "weakling", "display_name": "W", "password": "short"}
    )
    assert "at least 12 characters" in weak.text
    ok = ada.submit(
        "/admin/users",
        {
            "username": "newnurse",
            "display_name": "New Nurse",
            "password": PASSWORD,
            "role": "staff",
        },
    )
    assert "Account created." in ok.text
    assert Staff(console.base).login("newnurse").ok
    entries = audit.entries(20, "ada", console.db_url)
    assert any(e["action"] == "user_add" and e["target"] == "newnurse" for e in entries)


def test_security_headers(console):
    response = Staff(console.base).get(console.base + "/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_redirect_after_login_stays_on_site(console):
    client = Staff(console.base)
    client.page("/login?next=//evil.example/x")
    response = client.submit(
        "/login",
        {"username": "sam", "password": PASSWORD, "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/"


def test_message_html_is_shown_as_text(console):
    sender = "xss-" + uuid.uuid4().hex[:8]
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)> i want to die'
    console.stack.say(sender, payload)
    sam = Staff(console.base)
    assert sam.login("sam").ok
    page = sam.page(f"/c/{redact(sender)}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x" in page.text
    api = sam.get(console.base + f"/api/c/{redact(sender)}/events?after=0").json()
    assert any(i["text"] == payload for i in api["items"])  # JSON; the page uses textContent
    queue = sam.page("/")
    assert "<img src=x" not in queue.text


@pytest.mark.parametrize(
    "query",
    [
        "q=%27%3B+DROP+TABLE+events%3B+--",
        "q=%25",
        "q=_",
        "q=%5C",
        "intent=faq%27+OR+1%3D1--",
        "channel=rest%27+OR+%271%27%3D%271",
        "q=" + "a" * 5000,
    ],
)
def test_search_input_cannot_change_the_sql(console, conversation, query):
    sam = Staff(console.base)
    assert sam.login("sam").ok
    response = sam.page("/transcripts?" + query)
    assert response.status_code == 200
    assert "0 conversations" in response.text or "No conversations match" in response.text
    engine = sa.create_engine(console.db_url)
    assert sa.inspect(engine).has_table("events")
    engine.dispose()
    assert console.stack.tracker(conversation[0])["events"]


def test_bad_search_values_get_a_clear_error(console):
    sam = Staff(console.base)
    assert sam.login("sam").ok
    response = sam.page("/transcripts?from=yesterday")
    assert response.status_code == 400 and "expected a date" in response.text
    assert sam.page("/transcripts?level=extreme").status_code == 400
    assert sam.get(console.base + "/transcripts.csv?page=x").status_code == 400


def test_unknown_conversation_is_404_and_not_created(console):
    sam = Staff(console.base)
    assert sam.login("sam").ok
    assert sam.page("/c/conv-000000000000").status_code == 404
    assert sam.page("/c/../../etc/passwd").status_code == 404
    assert sam.submit("/c/conv-000000000000/note", {"text": "x"}).status_code == 404


def test_audit_log_has_no_route_that_changes_it(console):
    assert not [r for r in ROUTES if "audit" in r[1] and r[0] != "GET"]

"""Attacks on the staff console from its security review, each performed for real.

The console runs as a real server (``python -m bot console``) on a database of its own
(no Rasa needed for signing in), behind a trusted proxy (``CONSOLE_TRUST_PROXY=1``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

import pyotp
import pytest
import sqlalchemy as sa

from bot.staff import audit
from bot.staff.accounts import MAX_PASSWORD_LENGTH, AccountError, add_user
from bot.storage.db import get_engine
from bot.storage.models import LoginThrottle
from tests.conftest import ROOT, free_port
from tests.console_support import PASSWORD, Staff, remember_totp, running_console


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """A console on a fresh SQLite database with an admin ``root`` (enrolled on first use)."""
    workdir = tmp_path_factory.mktemp("console_security")
    db_url = f"sqlite:///{workdir / 'app.db'}"
    add_user("root", PASSWORD, "Root (admin)", "admin", url=db_url)
    env = {"CONSOLE_TRUST_PROXY": "1", "WATCHDOG_MINUTES": "1440"}
    rasa = f"http://127.0.0.1:{free_port()}"
    with running_console(db_url, rasa, "t", workdir, env) as base:
        yield SimpleNamespace(base=base, db_url=db_url)


def _user(console, role: str = "staff") -> str:
    name = "u" + uuid.uuid4().hex[:10]
    add_user(name, PASSWORD, name.upper(), role, url=console.db_url)
    return name


def _xff(address: str) -> dict:
    return {"X-Forwarded-For": address}


def _end_delay(console, username: str) -> None:
    """Let the delay of a username run out (as if its time had passed)."""
    table = LoginThrottle.__table__
    with get_engine(console.db_url).begin() as conn:
        row = conn.execute(sa.select(table).where(table.c.key == f"user:{username}")).one()
        conn.execute(
            table.update()
            .where(table.c.key == row.key)
            .values(next_allowed=row.last_at - timedelta(seconds=1))
        )


# --- 4. the limit holds for parallel attempts ---------------------------------------------
def test_parallel_wrong_passwords_cannot_all_pass_the_limit(console):
    name = _user(console)
    clients = [Staff(console.base) for _ in range(12)]
    for client in clients:
        client.page("/login")

    def attempt(client):
        return client.submit(
            "/login",
            {"username": name, "password": "wrong password here"},
            headers=_xff("10.40.0.1"),
        ).status_code

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(attempt, clients))
    assert codes.count(401) == 5, codes  # the limit is 5 (CONSOLE_LOGIN_MAX_FAILURES)
    assert codes.count(429) == 7, codes


def test_parallel_attempts_are_counted_atomically_on_postgresql():
    from bot.staff import sessions
    from tests.conftest import fresh_database

    with fresh_database("console_throttle") as url:
        with ThreadPoolExecutor(12) as pool:
            waits = list(pool.map(lambda _: sessions.claim_attempt("user:x", 5, url), range(12)))
    assert [w == 0 for w in waits].count(True) == 5, waits


# --- 5. no lock-out: delays that grow, the proxy's address, admin unlock ----------------
def test_the_right_password_signs_in_once_the_delay_has_passed(console):
    name = _user(console)
    client = Staff(console.base)
    for _ in range(5):
        assert (
            client.login(name, "wrong password here", headers=_xff("10.50.0.1")).status_code == 401
        )
    early = client.login(name, headers=_xff("10.50.0.2"))
    assert early.status_code == 429 and "Try again in" in early.text
    assert int(early.headers["Retry-After"]) <= 31
    _end_delay(console, name)
    assert client.login(name, headers=_xff("10.50.0.2")).ok
    assert "console_session" in client.cookies


def test_each_further_failure_doubles_the_delay():
    from bot.staff.sessions import delay_after

    assert delay_after(4, 5) == timedelta(0)
    assert [delay_after(n, 5).total_seconds() for n in (5, 6, 7)] == [30, 60, 120]
    assert delay_after(50, 5) == timedelta(minutes=15)


def test_a_forged_forwarded_for_does_not_change_the_counted_address(console):
    client = Staff(console.base)
    for i in range(20):
        # The client writes any left part; our proxy appends the address it saw.
        forged = _xff(f"203.0.113.{i}, 10.60.0.1")
        assert client.login(f"spray{i}x", "wrong password here", headers=forged).status_code == 401
    blocked = client.login("spray99x", "wrong password here", headers=_xff("1.2.3.4, 10.60.0.1"))
    assert blocked.status_code == 429
    failed = [e for e in audit.entries(200, "spray3x", console.db_url)]
    assert failed and failed[0]["detail"] == "10.60.0.1"


def test_an_admin_clears_the_delay_from_the_users_page_and_it_is_audited(console):
    name = _user(console)
    for _ in range(5):
        Staff(console.base).login(name, "wrong password here", headers=_xff("10.70.0.1"))
    assert Staff(console.base).login(name, headers=_xff("10.70.0.2")).status_code == 429
    root = Staff(console.base)
    assert root.login("root").ok
    users = root.page("/admin/users")
    assert "Clear delay" in users.text
    user_id = (
        get_engine(console.db_url)
        .connect()
        .execute(sa.text("select id from staff_users where username = :n"), {"n": name})
        .scalar()
    )
    cleared = root.submit(f"/admin/users/{user_id}/unlock")
    assert "Sign-in delays cleared" in cleared.text
    assert Staff(console.base).login(name, headers=_xff("10.70.0.2")).ok
    entries = audit.entries(50, "root", console.db_url)
    assert any(e["action"] == "user_unlock" and e["target"] == name for e in entries)


def test_the_unlock_command_clears_the_delay(console):
    name = _user(console)
    for _ in range(5):
        Staff(console.base).login(name, "wrong password here", headers=_xff("10.80.0.1"))
    assert Staff(console.base).login(name, headers=_xff("10.80.0.2")).status_code == 429
    env = {"DATABASE_URL": console.db_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "unlock", name.upper()],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "delay cleared" in done.stdout, done.stderr
    assert Staff(console.base).login(name, headers=_xff("10.80.0.2")).ok
    assert any(e["action"] == "user_unlock" for e in audit.entries(20, url=console.db_url))


# --- 10. passwords and two-factor sign-in ------------------------------------------------
@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",
        "abcabcabcabc",
        "123456789012",
        "qwertyuiop12",
        "1qaz2wsx3edc",
        "Password1234!",
        "P@ssw0rd2024",
        "correct horse battery staple",
        "x" * (MAX_PASSWORD_LENGTH + 1),
    ],
)
def test_weak_and_overlong_passwords_are_refused(db_url, password):
    with pytest.raises(AccountError, match="password"):
        add_user("kim", password, "Kim", url=db_url)


def test_a_long_password_is_never_cut_to_its_first_1024_characters(console):
    long_password = ("violet harbour quill " * 60)[: MAX_PASSWORD_LENGTH - 4] + "Zx9!"
    name = "u" + uuid.uuid4().hex[:10]
    add_user(name, long_password, name, url=console.db_url)
    client = Staff(console.base)
    refused = client.login(name, long_password + "anything", headers=_xff("10.90.0.1"))
    assert refused.status_code == 401 and "at most 1024 characters" in refused.text
    assert Staff(console.base).login(name, long_password, headers=_xff("10.90.0.1")).ok
    # The admin form states the limit and refuses a longer one with the reason.
    root = Staff(console.base)
    assert root.login("root").ok
    assert "12 to 1024 characters" in root.page("/admin/users").text
    over = root.submit(
        "/admin/users", {"username": "toolong", "display_name": "T", "password": "k" * 1025}
    )
    assert over.status_code == 400 and "at most 1024 characters" in over.text
    common = root.submit(
        "/admin/users", {"username": "common", "display_name": "C", "password": "aaaaaaaaaaaa"}
    )
    assert common.status_code == 400 and "repeated" in common.text


def test_with_two_factor_on_a_stolen_password_is_not_enough(console):
    name = _user(console)
    owner = Staff(console.base)
    assert owner.login(name).ok
    enrolment = owner.page("/account").text
    assert "otpauth://totp/" in enrolment
    assert "did not match" in owner.submit("/account/totp", {"code": "000000"}).text
    assert owner.enrol_totp(name).ok
    secret = pyotp.TOTP(
        get_engine(console.db_url)
        .connect()
        .execute(sa.text("select totp_secret from staff_users where username = :n"), {"n": name})
        .scalar()
    )
    thief = Staff(console.base)
    thief.page("/login")  # the thief has the password, not the code
    step = thief.submit(
        "/login", {"username": name, "password": PASSWORD}, headers=_xff("10.91.0.1")
    )
    assert 'name="step" value="code"' in step.text and "console_session" not in thief.cookies
    assert thief.get(console.base + "/api/queue").status_code == 401
    wrong = thief.submit("/login", {"step": "code", "code": "123456"}, headers=_xff("10.91.0.1"))
    assert wrong.status_code == 401 and "console_session" not in thief.cookies
    # Codes are rate-limited like passwords.
    for _ in range(4):
        thief.submit("/login", {"step": "code", "code": "123456"}, headers=_xff("10.91.0.1"))
    limited = thief.submit(
        "/login", {"step": "code", "code": secret.now()}, headers=_xff("10.91.0.1")
    )
    assert limited.status_code == 429
    _end_delay(console, name)
    fine = Staff(console.base)
    fine.page("/login")
    fine.submit("/login", {"username": name, "password": PASSWORD}, headers=_xff("10.91.0.2"))
    done = fine.submit("/login", {"step": "code", "code": secret.now()}, headers=_xff("10.91.0.2"))
    assert done.ok and fine.get(console.base + "/api/queue").status_code == 200


def test_an_admin_without_two_factor_can_only_enrol(console):
    name = _user(console, "admin")
    admin = Staff(console.base)
    admin.page("/login")
    admin.submit("/login", {"username": name, "password": PASSWORD})
    for path in ("/", "/admin/users", "/transcripts"):
        response = admin.get(console.base + path, allow_redirects=False)
        assert response.status_code == 303 and response.headers["Location"].startswith("/account")
    assert admin.get(console.base + "/api/queue").status_code == 403
    secret = admin.page("/account").text.split('id="totp-secret">')[1].split("<")[0]
    remember_totp(console.base, name, secret)
    admin.submit("/account/totp", {"code": pyotp.TOTP(secret).now()})
    assert admin.page("/admin/users").status_code == 200
    entries = audit.entries(20, name, console.db_url)
    assert any(e["action"] == "totp_enrol" for e in entries)


# --- 11. phishing banners, static directory, CSV formulas, widget Host header ------------
def test_banner_text_cannot_come_from_the_url(console):
    root = Staff(console.base)
    assert root.login("root").ok
    lure = "Your password expired. Call 555 0100 to reset it"
    for key in ("msg", "err"):
        page = root.page(f"/admin/users?{key}={lure.replace(' ', '+')}")
        assert "password expired" not in page.text
    assert "Account created." in root.page("/admin/users?msg=user_added").text


def test_the_static_directory_is_404_not_500(console):
    client = Staff(console.base)
    assert client.get(console.base + "/static/").status_code == 404
    assert client.get(console.base + "/static/console.css").status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        " =1+1",
        '\u200b=HYPERLINK("x")',
        "\u00a0@SUM(A1)",
        "\ufeff-2+3",
        "\u2060+1",
        "\u200c\u200d=1",
    ],
)
def test_csv_formulas_behind_spaces_or_invisible_characters_are_defused(text):
    from bot.staff.transcripts import _cell

    assert _cell(text) == "'" + text
    assert _cell("a = b") == "a = b"


def test_the_widget_demo_never_reflects_the_host_header(monkeypatch):
    from bot.channels.widget import WidgetChannel

    monkeypatch.setenv("WIDGET_PUBLIC_URL", "https://chat.clinic.example")
    bp = WidgetChannel().blueprint(None)
    [route] = [r for r in bp._future_routes if r.uri.endswith("/demo")]
    forged = SimpleNamespace(scheme="https", host="evil.example", headers={"host": "evil.example"})
    reply = asyncio.run(route.handler(forged))
    body = reply.body.decode()
    assert (
        "evil.example" not in body
        and "evil.example" not in reply.headers["Content-Security-Policy"]
    )
    assert "https://chat.clinic.example/webhooks/widget/widget.js" in body  # the embed snippet
    assert 'src="/webhooks/widget/widget.js"' in body
    assert "wss://chat.clinic.example" in reply.headers["Content-Security-Policy"]

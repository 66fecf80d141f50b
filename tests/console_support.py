"""Run the staff console as a real server for tests, and talk to it like a browser would."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import pyotp
import requests

from tests.conftest import BIN, ROOT, free_port

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
# Not a famous example password (the console refuses "correct horse battery staple").
PASSWORD = "tidal lantern oboe 47"
# TOTP secrets of the accounts tests enrolled, by (console base URL, username): a test
# signs in like a person with an authenticator app, with codes made by pyotp.
_totp_secrets: dict = {}


def remember_totp(base: str, username: str, secret: str) -> None:
    """Keep the TOTP secret an account enrolled with (read from its /account page)."""
    _totp_secrets[(base, username)] = secret


def totp_code(base: str, username: str) -> str:
    """The current code of an account the tests enrolled."""
    return pyotp.TOTP(_totp_secrets[(base, username)]).now()


def totp_secret_on(page_html: str) -> Optional[str]:
    """The base32 secret shown on an /account enrolment page, if any."""
    found = TOTP_SECRET.search(page_html)
    return found.group(1) if found else None


@contextmanager
def running_console(
    db_url: str, rasa_base: str, token: str, workdir: Path, env: Optional[dict] = None
) -> Iterator[str]:
    """``python -m bot console`` on a free port; yields its base URL. Log: console.log."""
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "RASA_URL": rasa_base,
        "RASA_TOKEN": token,
        **(env or {}),
    }
    log = open(workdir / "console.log", "w")
    proc = subprocess.Popen(
        [str(BIN / "python"), "-m", "bot", "console", "--port", str(port)],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"console exited with {proc.returncode}"
            try:
                urllib.request.urlopen(base + "/health", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                assert time.monotonic() < deadline, "console did not start in 60 s"
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Staff(requests.Session):
    """A signed-in (or anonymous) console user with a cookie jar, like a browser."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.csrf = ""

    def page(self, path: str, **kwargs) -> requests.Response:
        """GET a page and remember its CSRF token."""
        response = self.get(self.base + path, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def submit(self, path: str, data: Optional[dict] = None, **kwargs) -> requests.Response:
        """POST a form with the CSRF token of the last page (redirects followed)."""
        return self.post(self.base + path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def login(self, username: str, password: str = PASSWORD, **kwargs) -> requests.Response:
        """Open the login page, then sign in: the password, then the TOTP code when the
        account has two-factor on; an admin without it enrols first (as the console asks)."""
        self.page("/login")
        response = self.submit("/login", {"username": username, "password": password}, **kwargs)
        if response.ok and 'name="step" value="code"' in response.text:
            code = totp_code(self.base, username)
            response = self.submit("/login", {"step": "code", "code": code}, **kwargs)
        if response.ok:
            if totp_secret_on(self.page("/").text):
                self.enrol_totp(username)
                self.page("/")
        return response

    def enrol_totp(self, username: str) -> requests.Response:
        """Turn two-factor sign-in on from /account, remembering the secret."""
        secret = totp_secret_on(self.page("/account").text)
        assert secret, "no enrolment on /account"
        remember_totp(self.base, username, secret)
        return self.submit("/account/totp", {"code": pyotp.TOTP(secret).now()})

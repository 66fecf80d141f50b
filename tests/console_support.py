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

import requests

from tests.conftest import BIN, ROOT, free_port

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


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
        """Open the login page, then sign in."""
        self.page("/login")
        response = self.submit("/login", {"username": username, "password": password}, **kwargs)
        if response.ok:
            self.page("/")
        return response

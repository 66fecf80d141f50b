"""The Rasa server's own exposure (issue 12, Medium 7 and Low 11): no token on a command
line, CORS only for configured widget origins."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from bot.settings import ConfigError, widget_origins


@pytest.mark.model
@pytest.mark.servers
def test_no_secret_is_on_a_command_line(stack):
    """``ps`` shows every process's command line to every local user."""
    assert stack.pids
    for pid in stack.pids:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert stack.token.encode() not in b" ".join(argv), argv
        assert not any(a.startswith(b"--auth-token") for a in argv)
    # The server does use the token: the HTTP API refuses a request without it.
    status, _ = stack.get("/status", token=False)
    assert status == 401
    assert stack.get("/status")[0] == 200


@pytest.mark.model
@pytest.mark.servers
def test_cors_does_not_reflect_any_origin(stack):
    req = urllib.request.Request(
        f"{stack.base}/webhooks/rest/", headers={"Origin": "https://evil.example"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
        assert r.headers.get("Access-Control-Allow-Origin") is None
        assert r.headers.get("Access-Control-Allow-Credentials") is None


def test_widget_origins_are_origins(monkeypatch):
    monkeypatch.setenv("WIDGET_ORIGINS", "https://clinic.example, https://www.clinic.example")
    assert widget_origins() == ["https://clinic.example", "https://www.clinic.example"]
    for bad in ("*", "clinic.example", "javascript:alert(1)"):
        monkeypatch.setenv("WIDGET_ORIGINS", bad)
        with pytest.raises(ConfigError):
            widget_origins()


def test_the_launcher_adds_the_token_and_only_configured_origins(monkeypatch):
    from bot.deploy.serve import rasa_argv

    monkeypatch.setenv("RASA_TOKEN", "s3cret")
    monkeypatch.delenv("WIDGET_ORIGINS", raising=False)
    args = rasa_argv(["--enable-api", "--port", "5005"])
    assert args[:2] == ["rasa", "run"] and "--cors" not in args
    assert args[args.index("--auth-token") + 1] == "s3cret"
    monkeypatch.setenv("WIDGET_ORIGINS", "https://clinic.example")
    args = rasa_argv(["--enable-api"])
    assert args[args.index("--cors") + 1 :] == ["https://clinic.example"]
    for refused in (["--auth-token", "x"], ["--cors", "*"]):
        with pytest.raises(ConfigError):
            rasa_argv(refused)

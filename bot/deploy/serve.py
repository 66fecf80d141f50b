"""Start the Rasa server and the action server the way this project needs them.

``python -m bot serve [rasa run options]`` runs ``rasa run`` with:

- the HTTP API token from ``RASA_TOKEN`` or the file named by ``RASA_TOKEN_FILE``, passed
  to Rasa inside this process: on the command line (``--auth-token``) every local user
  could read it with ``ps``;
- CORS only for the configured widget origins (``WIDGET_ORIGINS``; none by default,
  because the widget is served from this server's own origin) instead of ``*``;
- ``ACTION_SERVER_TOKEN`` in the environment, which ``endpoints.yml`` sends to the action
  server as the ``X-Action-Token`` header.

``python -m bot actions [--host H] [--port P]`` runs the action server (rasa_sdk's app and
our ``actions`` package) on loopback by default, answering only requests that carry that
token and a JSON body: without it anyone who could reach port 5055 could post a forged
tracker and raise emergency handoffs with any words in them.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Any, List, Optional

logger = logging.getLogger(__name__)

ACTION_TOKEN_HEADER = "X-Action-Token"


def export_action_server_token() -> str:
    """Put ``ACTION_SERVER_TOKEN`` in this process's environment (for endpoints.yml)."""
    from bot.settings import action_server_token

    token = action_server_token()
    os.environ["ACTION_SERVER_TOKEN"] = token
    return token


def rasa_argv(argv: List[str]) -> List[str]:
    """The ``rasa run`` arguments for this process: ``argv`` plus the token and CORS."""
    from bot.settings import ConfigError, rasa_token, widget_origins

    if any(a == "--auth-token" or a.startswith("--auth-token=") for a in argv):
        raise ConfigError(
            "pass the token in RASA_TOKEN or RASA_TOKEN_FILE, not on the command line"
        )
    if any(a == "--cors" or a.startswith("--cors=") for a in argv):
        raise ConfigError("CORS origins come from WIDGET_ORIGINS")
    args = ["rasa", "run", *argv, "--auth-token", rasa_token()]
    origins = widget_origins()
    if origins:
        args += ["--cors", *origins]
    return args


def rasa_server(argv: List[str]) -> int:
    """``rasa run`` with the token, CORS and action-server token set as described above."""
    args = rasa_argv(argv)
    export_action_server_token()
    sys.argv = args  # this process's arguments only; /proc/<pid>/cmdline keeps the exec'd ones
    from rasa.__main__ import main

    main()
    return 0


def action_app(token: str, package: str = "actions") -> Any:
    """rasa_sdk's Sanic app for ``package``, answering only authenticated JSON requests."""
    from rasa_sdk.endpoint import create_app
    from sanic import response

    if not token:
        raise ValueError("the action server needs a token")
    app = create_app(package, cors_origins=None)
    expected = token.encode("utf-8")

    @app.middleware("request")
    async def authenticate(request: Any) -> Optional[Any]:
        if request.path == "/health":
            return None
        given = request.headers.get(ACTION_TOKEN_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "missing or wrong action server token"}, 401)
        if request.method == "POST":
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                # text/plain and form bodies are what a cross-site page can send without
                # a preflight; the Rasa server always sends JSON.
                return response.json({"error": "the body must be application/json"}, 415)
        return None

    return app


def action_server(argv: List[str]) -> int:
    """Run the action server: ``--host`` (default ``ACTIONS_HOST`` or 127.0.0.1), ``--port``."""
    from bot.settings import action_server_token

    parser = argparse.ArgumentParser(prog="python -m bot actions")
    parser.add_argument("--host", default=os.environ.get("ACTIONS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", 5055)))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = action_app(action_server_token())
    # The safety actions re-screen the conversation; loading spaCy and the encoder takes a
    # few seconds: do it in the background as the server starts, not in the first crisis
    # response (it used to run at import of the actions package).
    import threading

    from bot.safety import warm_up

    threading.Thread(target=warm_up, name="safety-warm-up", daemon=True).start()
    logger.info("Action server on http://%s:%d (token required)", args.host, args.port)
    app.run(args.host, args.port, workers=1, access_log=False)
    return 0

"""The website chat widget, served by the Rasa server itself.

Named in credentials.yml as ``bot.channels.widget.WidgetChannel``. It receives no
messages (the widget talks over the ``socketio`` channel); its blueprint only serves the
widget's files under ``/webhooks/widget/``, from the same origin as ``/socket.io``, so
nothing comes from a third-party CDN and there are no cross-origin problems:

  /webhooks/widget/widget.js          the widget, with the socket.io client bundled in
  /webhooks/widget/widget.css         its styles (loaded into the widget's shadow root)
  /webhooks/widget/demo.css           the demo page's styles
  /webhooks/widget/socket.io.min.js   the vendored socket.io client (v4.8.4, MIT) on its own
  /webhooks/widget/socket.io.LICENSE  its licence
  /webhooks/widget/demo               a sample clinic page with the one script tag

A clinic adds the widget to any page with::

  <script src="https://HOST/webhooks/widget/widget.js" data-title="..." defer></script>
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from jinja2 import Environment, FileSystemLoader, select_autoescape
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
STATIC = WIDGET_DIR / "static"
TEMPLATES = WIDGET_DIR / "templates"
SOCKET_IO = "socket.io.min.js"

JS = "application/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"

# Files are read once, when the server starts; a short cache keeps updates quick to land.
CACHE = "public, max-age=300"


def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def widget_bundle() -> str:
    """widget.js with the socket.io client inside it, so the page needs one script tag.

    The client's UMD wrapper sees a CommonJS ``module`` and exports itself there instead
    of setting ``window.io``: a page with its own (maybe different) socket.io client, or
    with an AMD loader, is not disturbed. The client's licence header is kept.
    """
    client = "\n".join(
        line
        for line in _read(SOCKET_IO).splitlines()
        if not line.startswith("//# sourceMappingURL")
    )
    return (
        "/* Recovery-support assistant chat widget. Bundles the socket.io client below. */\n"
        "(function () {\n"
        "var module = { exports: {} }; var exports = module.exports;\n"
        f"{client}\n"
        "var io = module.exports;\n"
        f"{_read('widget.js')}\n"
        "})();\n"
    )


def demo_page(origin: str) -> str:
    """The sample clinic page: fictional content, the clinic's name and one script tag."""
    from bot.settings import clinic_config

    cfg = clinic_config()
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"])
    )
    initial = (
        f"Hi, I'm the {cfg.clinic.name} assistant. I can answer questions about clonazepam "
        "(Klonopin), withdrawal, tapering with your prescriber and depression. I can't give "
        f"dosing advice. If you are in danger right now, please {cfg.emergency.how}."
    )
    return env.get_template("demo.html").render(
        clinic=cfg.clinic,
        origin=origin,
        title=f"Chat with {cfg.clinic.name}",
        color="#0b5d6b",
        initial=initial,
    )


def _security_headers(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    return {"X-Content-Type-Options": "nosniff", "Cache-Control": CACHE, **(extra or {})}


class WidgetChannel(InputChannel):
    """Serves the chat widget; messages go through the ``socketio`` channel."""

    @classmethod
    def name(cls) -> Text:
        """Routes live under ``/webhooks/widget/``."""
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """No credentials needed."""
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes for the widget's files and the demo page."""
        files = {
            "widget.js": (widget_bundle(), JS),
            "widget.css": (_read("widget.css"), CSS),
            "demo.css": (_read("demo.css"), CSS),
            SOCKET_IO: (_read(SOCKET_IO), JS),
            "socket.io.LICENSE": (_read("socket.io.LICENSE"), TEXT),
        }
        bp = Blueprint("widget_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        def serve(name: str):
            body, content_type = files[name]

            async def handler(_: Request) -> HTTPResponse:
                return response.text(body, content_type=content_type, headers=_security_headers())

            return handler

        for name in files:
            bp.add_route(serve(name), f"/{name}", methods=["GET"], name=name.replace(".", "_"))

        @bp.route("/demo", methods=["GET"])
        async def demo(request: Request) -> HTTPResponse:
            from bot.settings import widget_public_url

            # The configured address, never the Host header (a forged one would be
            # written into the page and its CSP).
            origin = widget_public_url()
            ws = origin.replace("http", "ws", 1)
            csp = (
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                f"connect-src 'self' {ws}; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'"
            )
            headers = _security_headers(
                {
                    "Content-Security-Policy": csp,
                    "Referrer-Policy": "no-referrer",
                    "Cache-Control": "no-store",
                }
            )
            return response.text(demo_page(origin), content_type=HTML, headers=headers)

        return bp

"""The web chat widget without a browser: the crisis data only on socket.io, and the files
the Rasa server serves for it (content types, no third-party sources, the demo page)."""

from __future__ import annotations

import re
import urllib.request

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.crisis import ActionCrisisResponse
from bot.crisis import crisis_message, crisis_payload
from bot.settings import clinic_config

CRISIS_TEXT = "I want to kill myself"


def _tracker(channel: str) -> Tracker:
    safety = {"level": "crisis", "categories": ["suicidal_ideation"], "evidence": []}
    latest = {"text": CRISIS_TEXT, "intent": {"name": "safety_crisis"}, "safety": safety}
    events = [{"event": "user", "text": CRISIS_TEXT, "input_channel": channel, **latest}]
    return Tracker("patient-7", {}, latest, events, False, None, {}, "")


def _resource(r) -> dict:
    return {
        "id": r.id,
        "name": r.name,
        "how": r.how,
        "tel": r.tel,
        "sms": r.sms,
        "sms_body": r.sms_body,
    }


def test_crisis_payload_lists_the_configured_resources_for_the_variant():
    cfg = clinic_config()
    payload = crisis_payload("crisis", "ideation", cfg)
    assert payload["level"] == "crisis" and payload["variant"] == "ideation"
    assert payload["emergency"] == _resource(cfg.emergency)
    # The same resources the message lists: SAMHSA only where substance use fits.
    assert payload["resources"] == [_resource(r) for r in cfg.resources if r.id != "samhsa"]
    for r in payload["resources"]:
        assert r["how"] in crisis_message("ideation", cfg)
    withdrawal = crisis_payload("emergency", "withdrawal", cfg)
    assert withdrawal["resources"] == [_resource(r) for r in cfg.resources]


async def test_the_crisis_response_carries_the_resources_as_data_on_socketio_only():
    cfg = clinic_config()
    for channel in ("rest", "twilio", "unknown"):
        dispatcher = CollectingDispatcher()
        await ActionCrisisResponse().run(dispatcher, _tracker(channel), {})
        [message] = dispatcher.messages
        assert message["text"] == crisis_message("ideation", cfg), channel
        assert not message.get("custom"), channel

    dispatcher = CollectingDispatcher()
    events = await ActionCrisisResponse().run(dispatcher, _tracker("socketio"), {})
    [message] = dispatcher.messages
    assert message["text"] == crisis_message("ideation", cfg)
    # Rasa's SocketIOOutput calls sio.emit("bot_uttered", **custom): "data" is the payload.
    assert set(message["custom"]) == {"data"}
    assert message["custom"]["data"] == {"crisis": crisis_payload("crisis", "ideation", cfg)}
    assert events == [{"event": "slot", "name": "risk_level", "value": "crisis", "timestamp": None}]


def test_the_widget_channel_is_registered_without_credentials():
    import yaml

    from bot.channels.widget import WidgetChannel
    from bot.settings import PROJECT_ROOT

    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    assert "bot.channels.widget.WidgetChannel" in credentials
    shared = credentials["bot.channels.socketio_shared.SharedSocketIOInput"]
    assert shared["session_persistence"] is True
    channel = WidgetChannel.from_credentials(None)
    assert channel.name() == "widget" and channel.url_prefix() == "widget"


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.headers, r.read().decode("utf-8")


@pytest.mark.model
@pytest.mark.servers
def test_the_rasa_server_serves_the_widget_files_and_the_demo_page(stack):
    base = f"{stack.base}/webhooks/widget"
    expected = {
        "widget.js": "application/javascript",
        "widget.css": "text/css",
        "socket.io.min.js": "application/javascript",
        "socket.io.LICENSE": "text/plain",
        "demo": "text/html",
    }
    bodies = {}
    for name, content_type in expected.items():
        status, headers, body = _get(f"{base}/{name}")
        assert status == 200, name
        assert headers["Content-Type"].startswith(content_type), (name, headers["Content-Type"])
        assert "charset=utf-8" in headers["Content-Type"], name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        bodies[name] = body

    # The socket.io client is vendored with its licence header, and bundled into widget.js.
    assert bodies["socket.io.min.js"].startswith("/*!\n * Socket.IO v4.8.4")
    assert "Released under the MIT License." in bodies["socket.io.min.js"]
    assert "MIT License" in bodies["socket.io.LICENSE"]
    assert "Socket.IO v4.8.4" in bodies["widget.js"] and "startChatWidget" in bodies["widget.js"]
    assert "sourceMappingURL" not in bodies["widget.js"]
    # Never innerHTML with message text: the widget builds its DOM with textContent.
    assert "innerHTML" not in bodies["widget.js"].split("startChatWidget", 1)[1]

    # The demo page: the clinic's name from clinic.yml, one script tag from this server,
    # nothing from anywhere else.
    demo = bodies["demo"]
    cfg = clinic_config()
    assert cfg.clinic.name in demo
    tags = re.findall(r"<script\b[^>]*>", demo)
    # The page's own tag is relative; the embed snippet names WIDGET_PUBLIC_URL, never Host.
    assert len(tags) == 1 and 'src="/webhooks/widget/widget.js"' in tags[0]
    # What the page loads (the embed snippet in <pre> is text to copy, not loaded).
    loaded = re.sub(r"<pre>.*?</pre>", "", demo, flags=re.S)
    sources = re.findall(r'(?:src|href)="([^"]+)"', loaded)
    assert sources and all(s.startswith(("/", stack.base)) for s in sources), sources
    snippet = re.search(r"<pre>.*?</pre>", demo, flags=re.S).group(0)
    assert "http://localhost:5005/webhooks/widget/widget.js" in snippet, "WIDGET_PUBLIC_URL"
    status, headers, _ = _get(f"{base}/demo")
    assert "script-src 'self'" in headers["Content-Security-Policy"]

    status, _, body = _get(f"{base}/")
    assert status == 200 and '"ok"' in body

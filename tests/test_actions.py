"""Custom actions, run the way the action server runs them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.staff_contact import ActionTalkToStaff, staff_contact_text
from bot import settings
from bot.settings import clinic_config


def _tracker() -> Tracker:
    return Tracker("patient-1", {}, {"intent": {"name": "talk_to_staff"}}, [], False, None, {}, "")


async def test_talk_to_staff_gives_contact_details_and_hours_from_configuration(
    tmp_path, monkeypatch
):
    data = yaml.safe_load(settings.DEFAULT_CLINIC_FILE.read_text())
    data["clinic"].update(name="Test Valley Clinic", phone="(555) 010-4242")
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("CLINIC_CONFIG", str(path))

    dispatcher = CollectingDispatcher()
    events = await ActionTalkToStaff().run(dispatcher, _tracker(), {})

    assert events == []
    [message] = dispatcher.messages
    assert "Test Valley Clinic" in message["text"]
    assert "(555) 010-4242" in message["text"]
    assert "Mon 09:00-17:00" in message["text"]
    assert "988" in message["text"]  # the urgent route is always mentioned


def test_staff_contact_says_whether_the_clinic_is_open():
    cfg = clinic_config()
    tz = ZoneInfo(cfg.clinic.timezone)
    assert "available now" in staff_contact_text(cfg, datetime(2026, 11, 23, 10, tzinfo=tz))
    closed = staff_contact_text(cfg, datetime(2026, 11, 22, 10, tzinfo=tz))
    assert "closed right now" in closed


def test_every_custom_action_in_the_domain_is_served_by_the_action_server():
    from rasa_sdk.executor import ActionExecutor

    domain = yaml.safe_load((settings.PROJECT_ROOT / "domain.yml").read_text())
    executor = ActionExecutor()
    executor.register_package("actions")
    custom = {a for a in domain["actions"] if not a.startswith("utter_")}
    assert custom <= set(executor.actions)

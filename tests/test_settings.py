"""Configuration: the clinic file and the database URL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot import settings
from bot.settings import ConfigError, clinic_config, parse_clinic_config


def _config_dict() -> dict:
    return yaml.safe_load(settings.DEFAULT_CLINIC_FILE.read_text())


def test_default_clinic_file_loads_with_us_crisis_resources():
    cfg = clinic_config()
    assert cfg.region == "US"
    assert cfg.emergency.tel == "911"
    ids = [r.id for r in cfg.resources]
    assert ids[0] == "lifeline_988"
    assert "crisis_text_line" in ids and "samhsa" in ids


def test_opening_hours_follow_the_clinic_timezone():
    clinic = clinic_config().clinic
    tz = ZoneInfo(clinic.timezone)
    assert clinic.is_open(datetime(2026, 11, 23, 10, 0, tzinfo=tz))  # Monday 10:00
    assert not clinic.is_open(datetime(2026, 11, 23, 8, 59, tzinfo=tz))
    assert not clinic.is_open(datetime(2026, 11, 22, 12, 0, tzinfo=tz))  # Sunday
    # 15:30 UTC is 10:30 in New York in November.
    assert clinic.is_open(datetime(2026, 11, 23, 15, 30, tzinfo=ZoneInfo("UTC")))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("crisis"), "top-level"),
        (lambda d: d["clinic"].pop("phone"), "clinic.phone"),
        (lambda d: d["clinic"].update(timezone="Mars/Olympus"), "timezone"),
        (lambda d: d["clinic"]["hours"].update(mon=["9am", "5pm"]), "HH:MM"),
        (lambda d: d["crisis"].update(region="XX"), "region"),
        (lambda d: d["crisis"]["regions"]["US"].update(resources=[]), "empty"),
        (lambda d: d["crisis"]["regions"]["US"]["resources"][0].update(colour="red"), "US"),
    ],
)
def test_bad_clinic_file_gives_a_clear_error(mutate, message):
    data = _config_dict()
    mutate(data)
    with pytest.raises(ConfigError, match=message):
        parse_clinic_config(data)


def test_clinic_config_path_comes_from_the_environment(tmp_path, monkeypatch):
    data = _config_dict()
    data["clinic"]["name"] = "Test Valley Clinic"
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("CLINIC_CONFIG", str(path))
    assert clinic_config().clinic.name == "Test Valley Clinic"


def test_database_url_defaults_to_sqlite_and_switches_by_environment(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert settings.database_url().startswith("sqlite:///")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db:5432/rasa")
    assert settings.database_url() == "postgresql://u@db:5432/rasa"

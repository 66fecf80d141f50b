"""One module that reads configuration: the clinic file and the environment.

Clinic name, phone, hours and crisis resources come from ``clinic.yml`` (or the file
named by ``CLINIC_CONFIG``); infrastructure settings come from environment variables.
Nothing here is read at import time: call the functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLINIC_FILE = PROJECT_ROOT / "clinic.yml"
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "tracker.db"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(ValueError):
    """The clinic configuration file is missing something or malformed."""


@dataclass(frozen=True)
class Resource:
    """One crisis resource (a hotline, a text line)."""

    id: str
    name: str
    how: str
    tel: str | None = None
    sms: str | None = None
    sms_body: str | None = None


@dataclass(frozen=True)
class Clinic:
    """The clinic's contact details and staffed hours."""

    name: str
    phone: str
    email: str
    timezone: str
    hours: dict = field(default_factory=dict)  # day -> (open time, close time)

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether staff are on duty at ``now`` (default: the current time)."""
        local = (now or datetime.now(ZoneInfo(self.timezone))).astimezone(ZoneInfo(self.timezone))
        span = self.hours.get(DAYS[local.weekday()])
        return bool(span) and span[0] <= local.time() < span[1]

    def hours_text(self) -> str:
        """Opening hours as one short human-readable line."""
        parts = [
            f"{day.capitalize()} {o.strftime('%H:%M')}-{c.strftime('%H:%M')}"
            for day, (o, c) in self.hours.items()
        ]
        return ", ".join(parts) + f", {self.timezone.split('/')[-1].replace('_', ' ')} time"


@dataclass(frozen=True)
class ClinicConfig:
    """Everything in the clinic file."""

    clinic: Clinic
    region: str
    emergency: Resource
    resources: tuple
    # Minutes an emergency/crisis handoff may wait unclaimed before the watchdog acts.
    watchdog_minutes: float = 5.0


def _parse_time(value: str, where: str) -> time:
    try:
        return datetime.strptime(str(value), "%H:%M").time()
    except ValueError as exc:
        raise ConfigError(f"{where}: expected HH:MM, got {value!r}") from exc


def parse_clinic_config(data: dict) -> ClinicConfig:
    """Validate the clinic file's content and turn it into a :class:`ClinicConfig`."""
    if not isinstance(data, dict) or "clinic" not in data or "crisis" not in data:
        raise ConfigError("clinic file needs top-level 'clinic' and 'crisis' sections")
    c = data["clinic"]
    for key in ("name", "phone", "email", "timezone"):
        if not c.get(key):
            raise ConfigError(f"clinic.{key} is required")
    try:
        ZoneInfo(c["timezone"])
    except Exception as exc:  # zoneinfo raises several kinds
        raise ConfigError(f"clinic.timezone {c['timezone']!r} is not a known zone") from exc
    hours = {}
    for day, span in (c.get("hours") or {}).items():
        if day not in DAYS or not isinstance(span, list) or len(span) != 2:
            raise ConfigError(f"clinic.hours.{day}: expected a day name and [open, close]")
        hours[day] = (_parse_time(span[0], day), _parse_time(span[1], day))
    clinic = Clinic(c["name"], c["phone"], c["email"], c["timezone"], hours)

    crisis = data["crisis"]
    region = crisis.get("region")
    regional = (crisis.get("regions") or {}).get(region)
    if not regional:
        raise ConfigError(f"crisis.regions has no entry for region {region!r}")
    try:
        emergency = Resource(**{"id": "emergency", **regional["emergency"]})
        resources = tuple(Resource(**r) for r in regional["resources"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"crisis.regions.{region}: {exc}") from exc
    if not resources:
        raise ConfigError(f"crisis.regions.{region}.resources is empty")
    handoff = data.get("handoff") or {}
    try:
        watchdog = float(handoff.get("watchdog_minutes", 5))
    except (TypeError, ValueError) as exc:
        raise ConfigError("handoff.watchdog_minutes must be a number of minutes") from exc
    if not 0 < watchdog <= 24 * 60:
        raise ConfigError("handoff.watchdog_minutes must be between 0 and 1440")
    return ClinicConfig(clinic, region, emergency, resources, watchdog)


@lru_cache(maxsize=4)
def _load_clinic_config(path: str) -> ClinicConfig:
    with open(path, encoding="utf-8") as fh:
        return parse_clinic_config(yaml.safe_load(fh))


def clinic_config() -> ClinicConfig:
    """The clinic configuration named by ``CLINIC_CONFIG`` (default ``clinic.yml``)."""
    return _load_clinic_config(os.environ.get("CLINIC_CONFIG", str(DEFAULT_CLINIC_FILE)))


def watchdog_minutes() -> float:
    """Minutes before an unclaimed emergency/crisis handoff is re-notified.

    ``handoff.watchdog_minutes`` in the clinic file; ``WATCHDOG_MINUTES`` overrides it
    (tests use fractions of a minute).
    """
    value = os.environ.get("WATCHDOG_MINUTES", "").strip()
    if value:
        try:
            return max(0.01, float(value))
        except ValueError:
            pass
    return clinic_config().watchdog_minutes


def database_url() -> str:
    """SQLAlchemy URL for the tracker store and our tables.

    ``DATABASE_URL`` switches to PostgreSQL (``postgresql://user@host:5432/db``);
    the embedded default is a SQLite file under ``var/``.
    """
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        # Heroku-style URLs say postgres://, which SQLAlchemy 1.4 no longer accepts.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def redis_url() -> str | None:
    """``REDIS_URL`` (``redis://[[user]:password@]host:port/db``) for the lock store, or None.

    Unset means one Rasa process with its in-memory lock store; set it to run several
    replicas on one tracker store.
    """
    return os.environ.get("REDIS_URL", "").strip() or None


def lock_store_key_prefix() -> str | None:
    """``LOCK_STORE_KEY_PREFIX``: prefix for the lock keys in Redis (letters and digits)."""
    return os.environ.get("LOCK_STORE_KEY_PREFIX", "").strip() or None

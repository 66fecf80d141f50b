"""Rasa's SQLTrackerStore, pointed at the URL from :func:`bot.settings.database_url`.

``endpoints.yml`` names this class, so the same configuration runs on the embedded
SQLite file and on PostgreSQL: only ``DATABASE_URL`` changes.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore

from bot import settings
from bot.settings import database_url
from bot.storage.files import secure_sqlite

logger = logging.getLogger(__name__)


class ConfiguredSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose database comes from ``DATABASE_URL`` (default SQLite)."""

    def __init__(self, domain: Any | None = None, host: str | None = None, **kwargs: Any):
        # An explicit URL in endpoints.yml wins; otherwise the environment decides.
        url = host if host and "://" in host else database_url()
        # Every message is in this file: private (600, var/ 700) before SQLite opens it.
        secure_sqlite(url, settings.var_dir())
        super().__init__(domain=domain, host=url, **kwargs)


def _reraise(error: Exception) -> None:
    """FailSafeTrackerStore's error callback: log, then let the error fail the request."""
    logger.error(
        "Tracker store unavailable (%s): the message is not processed", type(error).__name__
    )
    raise error


def fail_loudly(agent: Any) -> bool:
    """Make tracker store errors fail the request instead of being hidden.

    Rasa's ``Agent`` wraps the tracker store in a ``FailSafeTrackerStore`` without an
    error callback: when the database is down, ``retrieve`` returns no tracker (the
    conversation starts over: a paused, staff-held conversation would be answered by the
    bot) and ``save`` keeps the conversation in the process's memory, so answered
    messages are never stored (the PostgreSQL drill in scripts/drill.py lost 281 of 526
    that way). With this callback the error propagates, the channel answers 503 (or the
    crisis resources, see bot/channels/fallback.py) and nothing answered goes unstored.
    Returns whether the callback was installed now.
    """
    store = getattr(agent, "tracker_store", None)
    if not isinstance(store, FailSafeTrackerStore):
        return False
    if store._on_tracker_store_error is _reraise:
        return False
    store._on_tracker_store_error = _reraise
    logger.info("Tracker store errors fail the request (no in-memory fallback)")
    return True

"""Rasa's SQLTrackerStore, pointed at the URL from :func:`bot.settings.database_url`.

``endpoints.yml`` names this class, so the same configuration runs on the embedded
SQLite file and on PostgreSQL: only ``DATABASE_URL`` changes.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore

from bot.settings import database_url


class ConfiguredSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose database comes from ``DATABASE_URL`` (default SQLite)."""

    def __init__(self, domain: Any | None = None, host: str | None = None, **kwargs: Any):
        # An explicit URL in endpoints.yml wins; otherwise the environment decides.
        url = host if host and "://" in host else database_url()
        super().__init__(domain=domain, host=url, **kwargs)

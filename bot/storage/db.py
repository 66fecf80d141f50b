"""Engine and sessions for our own tables, with Alembic migrations applied on first use.

A SQLite database is made private (file 600, ``var/`` 700) before it is first opened.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot import settings
from bot.settings import database_url
from bot.storage.files import secure_sqlite

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_engines: Dict[str, sa.engine.Engine] = {}
_lock = threading.Lock()


def alembic_config(url: str):
    """An Alembic configuration for ``url`` that needs no alembic.ini on disk."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url or database_url()), revision)


def get_engine(url: str | None = None) -> sa.engine.Engine:
    """One engine per URL per process; the schema is migrated when the engine is made."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            # Before the first connection, so SQLite never creates the file world-readable.
            secure_sqlite(url, settings.var_dir())
            upgrade(url)
            kwargs = {"pool_pre_ping": True}
            if url.startswith("sqlite"):
                # The action server uses threads; SQLite connections must allow that.
                kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            engine = sa.create_engine(url, **kwargs)
            _engines[url] = engine
        return engine


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: commit on success, roll back on error."""
    session = sessionmaker(bind=get_engine(url), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

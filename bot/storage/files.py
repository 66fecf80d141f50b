"""Private files on disk: ``var/`` (700), the SQLite database and its companions (600).

The SQLite file holds every message and the staff password hashes, so it must not be
readable by other local users whatever the process's umask is. Modes are set explicitly
(``os.open(..., 0o600)``, ``mkdir(0o700)`` and a ``chmod`` of what already exists), never
left to the umask. No Rasa imports and no settings: ``bot.settings`` uses this module.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import sqlalchemy as sa

logger = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's companions of a database file; it creates them with the database's mode.
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` if group or others have any access and it is ours."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        return
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, mode)


def private_dir(path: Path, tighten: bool = True) -> Path:
    """Create ``path`` (and missing parents) with mode 700; ``tighten``: chmod it to 700.

    Only the last component is made private; missing parents get the usual mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if tighten:
            _tighten(path, DIR_MODE)
    else:
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 600 if missing, or chmod an existing one to 600."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        os.fchmod(fd, FILE_MODE)
        os.close(fd)
    return path


def private_tree(path: Path) -> None:
    """chmod an existing directory tree: directories 700, files 600 (logs)."""
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return
    _tighten(path, DIR_MODE)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            _tighten(Path(root) / name, DIR_MODE)
        for name in files:
            _tighten(Path(root) / name, FILE_MODE)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None (another database, in memory, a URI filename)."""
    try:
        parsed = sa.engine.make_url(url)
    except Exception:  # SQLAlchemy raises ArgumentError and ValueError for bad URLs
        return None
    database = parsed.database or ""
    if not parsed.drivername.startswith("sqlite") or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def secure_sqlite(url: str, var_dir: Path | None = None) -> Path | None:
    """Make a SQLite database private before SQLite opens it; returns its path (or None).

    The database's directory is created with mode 700 when missing; an existing one is
    tightened only when it is ``var_dir`` (the project's ``var/``: never chmod a directory
    someone else chose, like /tmp). The database and its -wal/-shm/-journal files get
    mode 600 (created empty with that mode, so SQLite never creates it with the umask's).
    ``var_dir/log`` (the servers' logs) is tightened too.
    """
    path = sqlite_path(url)
    if path is None:
        return None
    is_var = var_dir is not None and path.parent == Path(var_dir).resolve()
    private_dir(path.parent, tighten=is_var)
    private_file(path)
    for suffix in SQLITE_SUFFIXES[1:]:
        _tighten(path.with_name(path.name + suffix), FILE_MODE)
    if is_var:
        private_tree(path.parent / "log")
    return path

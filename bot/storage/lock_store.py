"""Rasa's lock store chosen from the environment: Redis with ``REDIS_URL``, else in memory.

``endpoints.yml`` names :class:`ConfiguredLockStore`, so one configuration serves both the
embedded single process (no Redis: Rasa's ``InMemoryLockStore``) and several Rasa replicas
sharing one tracker store (``REDIS_URL`` set: Rasa's ``RedisLockStore``, whose ticket locks
serialise the messages of one conversation across replicas, with its lock updates made
atomic: see :class:`AtomicRedisLockStore`).

Rasa builds a custom lock store as ``ConfiguredLockStore(endpoint_config=...)``; this class
is a factory: the call returns the chosen store itself (not a wrapper), so the object
behaves exactly like it and Rasa's own ``isinstance`` checks see a RedisLockStore or an
InMemoryLockStore.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, Optional
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)

from bot.settings import lock_store_key_prefix, redis_url

logger = logging.getLogger(__name__)

DEFAULT_REDIS_PORT = 6379


def parse_redis_url(url: str) -> Dict[str, Any]:
    """``redis://[[user]:password@]host[:port][/db]`` as RedisLockStore keyword arguments.

    ``rediss://`` turns TLS on. The database defaults to 0 (Redis' own default).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError("REDIS_URL must start with redis:// or rediss://")
    if not parts.hostname:
        raise ValueError("REDIS_URL has no host")
    path = parts.path.strip("/")
    try:
        db = int(path) if path else 0
        port = parts.port or DEFAULT_REDIS_PORT
    except ValueError as exc:
        raise ValueError("REDIS_URL: port and database must be numbers") from exc
    return {
        "host": parts.hostname,
        "port": port,
        "db": db,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
    }


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    netloc = f"{user}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's RedisLockStore with each read-modify-write of a lock done atomically.

    Rasa 3.6 reads the ticket lock, changes it in Python and writes it back; two replicas
    issuing tickets for one conversation at the same moment both read the same lock, both
    get ticket 0 and process the conversation at once (events lost, answers interleaved).
    Here every change runs in a Redis transaction that WATCHes the key and retries if
    another process wrote it in between. Keys, values and TTL-free storage are Rasa's, so
    replicas running plain RedisLockStore interoperate (without the guarantee).
    """

    def _change(self, conversation_id: str, change: Any) -> Any:
        """Apply ``change(lock or None) -> (lock to save or None to delete, result)``."""
        key = self.key_prefix + conversation_id
        outcome: Dict[str, Any] = {}

        def transaction(pipe: Any) -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            new_lock, outcome["result"] = change(lock)
            pipe.multi()
            if new_lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, new_lock.dumps())

        self.red.transaction(transaction, key)
        return outcome.get("result")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue the next ticket for the conversation, creating its lock if needed."""

        def issue(lock: Optional[TicketLock]) -> Any:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as exc:
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        """Remove expired tickets (atomically)."""

        def expire(lock: Optional[TicketLock]) -> Any:
            if lock is None:
                return None, None
            lock.remove_expired_tickets()
            return lock, None

        if self.red.exists(self.key_prefix + conversation_id):
            self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the finished ticket (atomically)."""

        def finish(lock: Optional[TicketLock]) -> Any:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return lock, None

        if self.red.exists(self.key_prefix + conversation_id):
            self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the finished ticket; delete the lock only if nobody else holds a ticket.

        One transaction, so a ticket issued meanwhile by another replica is never lost.
        """

        def finish(lock: Optional[TicketLock]) -> Any:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, finish)


def configured_lock_store(endpoint_config: Optional[Any] = None) -> LockStore:
    """AtomicRedisLockStore on ``REDIS_URL`` if set, else Rasa's InMemoryLockStore.

    Extra keys of the ``lock_store`` section in endpoints.yml (e.g. ``socket_timeout``,
    ``key_prefix``) are passed to RedisLockStore; ``LOCK_STORE_KEY_PREFIX`` wins over
    ``key_prefix``.
    """
    url = redis_url()
    if not url:
        if int(os.environ.get("SANIC_WORKERS", "1") or 1) > 1:
            logger.warning(
                "SANIC_WORKERS > 1 without REDIS_URL: each worker has its own in-memory "
                "lock store, so messages of one conversation are not serialised."
            )
        logger.info("Lock store: in memory (set REDIS_URL to share locks across replicas)")
        return InMemoryLockStore()
    kwargs: Dict[str, Any] = dict(getattr(endpoint_config, "kwargs", None) or {})
    kwargs.update(parse_redis_url(url))
    prefix = lock_store_key_prefix()
    if prefix:
        kwargs["key_prefix"] = prefix
    if kwargs.get("key_prefix") and not str(kwargs["key_prefix"]).isalnum():
        raise ValueError("LOCK_STORE_KEY_PREFIX must be letters and digits only")
    store = AtomicRedisLockStore(**kwargs)
    logger.info("Lock store: Redis at %s, key prefix %r", redacted(url), store.key_prefix)
    try:
        store.red.ping()
    except Exception as exc:  # redis connects lazily; say so now rather than at a message
        logger.warning("Lock store: Redis at %s does not answer yet: %s", redacted(url), exc)
    return store


class ConfiguredLockStore(LockStore):
    """Factory named in endpoints.yml: a (subclass of) RedisLockStore, or InMemoryLockStore."""

    def __new__(cls, endpoint_config: Optional[Any] = None, **_: Any) -> LockStore:  # type: ignore[misc]
        """Build the store the environment asks for (not an instance of this class)."""
        return configured_lock_store(endpoint_config)

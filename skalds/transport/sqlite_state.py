"""Live-state port on the embedded SQLite file: strings and lists with a TTL, hashes, and a lease.

Mirrors `redis_state.RedisLiveState` as the runtime and the controller use it. Expiry is a
wall-clock time (all processes on the machine share the clock): an expired key reads as missing
at once and is deleted later by a writer. Each key holds one kind of value: writing a string or a
list replaces a hash of the same name and writing a hash field replaces a string or list (Redis
would refuse instead; the runtime never mixes kinds).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

from skalds.transport.ports import LiveBatch, LiveReadBatch
from skalds.transport.sqlite_db import SqliteDatabase

_PURGE_EVERY = 10.0
_ALIVE = "(expires_at IS NULL OR expires_at > ?)"

Operation = Callable[[sqlite3.Connection, float], Any]


def _text(value: Any, what: str) -> str:
    """What Redis stores for a value: text (numbers as their decimal text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    raise ValueError(f"{what}: live state stores text or numbers, got {type(value).__name__}")


def _expiry(ttl: float | None, now: float, key: str) -> float | None:
    if ttl is None or ttl == 0:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl < 0:
        raise ValueError(f"TTL of {key!r} must be a positive number of seconds, got {ttl!r}")
    return now + ttl


class _SqliteBatch:
    """Collects writes; `SqliteLiveState.write` runs them in one transaction."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self.operations: list[Operation] = []

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        full, text = self._prefix + key, _text(value, key)

        def run(connection: sqlite3.Connection, now: float) -> None:
            connection.execute("DELETE FROM live_hash WHERE key = ?", (full,))
            connection.execute("INSERT INTO live_keys (key, kind, value, expires_at) VALUES (?, 'string', ?, ?) "
                               "ON CONFLICT (key) DO UPDATE SET kind = 'string', value = excluded.value, "
                               "expires_at = excluded.expires_at", (full, text, _expiry(ttl, now, key)))
        _expiry(ttl, 0.0, key)
        self.operations.append(run)

    def hset(self, key: str, field: str, value: str) -> None:
        full, name, text = self._prefix + key, _text(field, key), _text(value, f"{key}.{field}")

        def run(connection: sqlite3.Connection, now: float) -> None:
            connection.execute("DELETE FROM live_keys WHERE key = ?", (full,))
            connection.execute("INSERT INTO live_hash (key, field, value) VALUES (?, ?, ?) "
                               "ON CONFLICT (key, field) DO UPDATE SET value = excluded.value", (full, name, text))
        self.operations.append(run)

    def hdel(self, key: str, field: str) -> None:
        full, name = self._prefix + key, _text(field, key)
        self.operations.append(lambda connection, now: connection.execute(
            "DELETE FROM live_hash WHERE key = ? AND field = ?", (full, name)))

    def delete(self, key: str) -> None:
        full = self._prefix + key

        def run(connection: sqlite3.Connection, now: float) -> None:
            connection.execute("DELETE FROM live_keys WHERE key = ?", (full,))
            connection.execute("DELETE FROM live_hash WHERE key = ?", (full,))
        self.operations.append(run)

    def replace_list(self, key: str, values: Sequence[str], ttl: float | None = None) -> None:
        full = self._prefix + key
        items = json.dumps([_text(value, key) for value in values])
        _expiry(ttl, 0.0, key)

        def run(connection: sqlite3.Connection, now: float) -> None:
            connection.execute("DELETE FROM live_hash WHERE key = ?", (full,))
            if not values:  # Redis has no empty lists: the key is gone
                connection.execute("DELETE FROM live_keys WHERE key = ?", (full,))
                return
            connection.execute("INSERT INTO live_keys (key, kind, value, expires_at) VALUES (?, 'list', ?, ?) "
                               "ON CONFLICT (key) DO UPDATE SET kind = 'list', value = excluded.value, "
                               "expires_at = excluded.expires_at", (full, items, _expiry(ttl, now, key)))
        self.operations.append(run)


def _get(connection: sqlite3.Connection, now: float, key: str) -> str | None:
    row = connection.execute(f"SELECT value FROM live_keys WHERE key = ? AND kind = 'string' AND {_ALIVE}",
                             (key, now)).fetchone()
    return row[0] if row is not None else None


def _hget(connection: sqlite3.Connection, key: str, field: str) -> str | None:
    row = connection.execute("SELECT value FROM live_hash WHERE key = ? AND field = ?", (key, field)).fetchone()
    return row[0] if row is not None else None


def _hgetall(connection: sqlite3.Connection, key: str) -> dict[str, str]:
    return dict(connection.execute("SELECT field, value FROM live_hash WHERE key = ?", (key,)).fetchall())


def _lrange(connection: sqlite3.Connection, now: float, key: str) -> list[str]:
    row = connection.execute(f"SELECT value FROM live_keys WHERE key = ? AND kind = 'list' AND {_ALIVE}",
                             (key, now)).fetchone()
    return json.loads(row[0]) if row is not None else []


class _SqliteReadBatch:
    """Collects reads; `SqliteLiveState.read` runs them on one snapshot."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self.operations: list[Operation] = []

    def get(self, key: str) -> None:
        full = self._prefix + key
        self.operations.append(lambda connection, now: _get(connection, now, full))

    def hget(self, key: str, field: str) -> None:
        full = self._prefix + key
        self.operations.append(lambda connection, now: _hget(connection, full, field))

    def hgetall(self, key: str) -> None:
        full = self._prefix + key
        self.operations.append(lambda connection, now: _hgetall(connection, full))

    def lrange(self, key: str) -> None:
        full = self._prefix + key
        self.operations.append(lambda connection, now: _lrange(connection, now, full))


class SqliteLiveState:
    """Live state in the embedded database; every key is prefixed with `key_prefix`."""

    def __init__(self, database: SqliteDatabase, key_prefix: str = "") -> None:
        self._db = database
        self._prefix = key_prefix
        self._next_purge = 0.0

    def ping(self) -> bool:
        self._db.ping()
        return True

    def write(self, fill: Callable[[LiveBatch], None]) -> None:
        """Queue writes with `fill`, then apply them all in one transaction."""
        batch = _SqliteBatch(self._prefix)
        fill(batch)
        purge = time.monotonic() >= self._next_purge
        if purge:
            self._next_purge = time.monotonic() + _PURGE_EVERY

        def apply(connection: sqlite3.Connection) -> None:
            now = time.time()
            for operation in batch.operations:
                operation(connection, now)
            if purge:
                connection.execute("DELETE FROM live_keys WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))

        if batch.operations or purge:
            self._db.transaction(apply)

    def _snapshot(self, operations: list[Operation]) -> list[Any]:
        def run(connection: sqlite3.Connection) -> list[Any]:
            now = time.time()
            connection.execute("BEGIN")
            try:
                return [operation(connection, now) for operation in operations]
            finally:
                connection.execute("COMMIT")

        return self._db.read(run)

    def read(self, fill: Callable[[LiveReadBatch], None]) -> list[Any]:
        """Queue reads with `fill`, then run them on one consistent snapshot."""
        batch = _SqliteReadBatch(self._prefix)
        fill(batch)
        return self._snapshot(batch.operations) if batch.operations else []

    def get(self, key: str) -> str | None:
        return self.read(lambda batch: batch.get(key))[0]

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []

        def fill(batch: LiveReadBatch) -> None:
            for key in keys:
                batch.get(key)
        return self.read(fill)

    def hgetall(self, key: str) -> dict[str, str]:
        return self.read(lambda batch: batch.hgetall(key))[0]

    def lrange(self, key: str) -> list[str]:
        return self.read(lambda batch: batch.lrange(key))[0]

    def acquire_lease(self, name: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease `name` for `owner`; False while someone else holds it."""
        if not owner:
            raise ValueError("a lease needs an owner")
        full = self._prefix + name

        def take(connection: sqlite3.Connection) -> bool:
            now = time.time()
            holder = _get(connection, now, full)
            if holder is not None and holder != owner:
                return False
            expires = _expiry(ttl, now, name)
            if expires is None:
                raise ValueError(f"lease {name!r} needs a positive TTL")
            connection.execute("DELETE FROM live_hash WHERE key = ?", (full,))
            connection.execute("INSERT INTO live_keys (key, kind, value, expires_at) VALUES (?, 'string', ?, ?) "
                               "ON CONFLICT (key) DO UPDATE SET kind = 'string', value = excluded.value, "
                               "expires_at = excluded.expires_at", (full, owner, expires))
            return True

        return self._db.transaction(take)

    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up, only if `owner` still holds it."""
        full = self._prefix + name
        self._db.transaction(lambda connection: connection.execute(
            "DELETE FROM live_keys WHERE key = ? AND kind = 'string' AND value = ?", (full, owner)))

    def close(self) -> None:
        self._db.close()

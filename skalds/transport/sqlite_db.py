"""One SQLite file (WAL mode) shared by the embedded adapters and by every process on the machine.

Why WAL: readers never block the single writer, and a commit costs no fsync with
`synchronous=NORMAL` (an application crash loses nothing; a power cut may lose the last commits).
Every read-modify-write runs in `BEGIN IMMEDIATE`, so two processes never interleave one;
a writer that finds the file locked waits (SQLite's busy timeout, then our own retries) and
gives up with `ServiceUnavailableError` only after `lock_deadline` seconds.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from skalds.transport.ports import MisconfiguredError, ServiceUnavailableError
from skalds.utils.logging import logger

T = TypeVar("T")

SCHEMA_VERSION = 1

# Task fields the runtime and the controller filter and sort on: an expression index each.
INDEXED_TASK_FIELDS = ("lifecycleStatus", "mode", "executor", "className", "priority", "createDateTime",
                       "updateDateTime")

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # events: one global sequence; a consumer group's position per topic is the next seq to read
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
    "key TEXT, value BLOB, ts REAL NOT NULL, headers TEXT)",
    "CREATE INDEX IF NOT EXISTS events_topic_seq ON events (topic, seq)",
    "CREATE INDEX IF NOT EXISTS events_ts ON events (ts)",
    "CREATE TABLE IF NOT EXISTS event_offsets (grp TEXT NOT NULL, topic TEXT NOT NULL, next_seq INTEGER NOT NULL, "
    "PRIMARY KEY (grp, topic))",
    # tasks: the camelCase document as JSON, keyed by its id
    "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, doc TEXT NOT NULL)",
    *(f"CREATE INDEX IF NOT EXISTS tasks_{name} ON tasks (json_extract(doc, '$.{name}'))"
      for name in INDEXED_TASK_FIELDS),
    "CREATE TABLE IF NOT EXISTS task_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, "
    "ts INTEGER NOT NULL, doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS task_history_task ON task_history (task_id, ts)",
    # checkpoints: one per task, the state as JSON text (see checkpoint_docs)
    "CREATE TABLE IF NOT EXISTS task_checkpoints (task_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, "
    "saved_at INTEGER NOT NULL, size_bytes INTEGER NOT NULL, state TEXT NOT NULL)",
    # live state: strings and lists (a JSON array) with an optional wall-clock expiry; hashes by field
    "CREATE TABLE IF NOT EXISTS live_keys (key TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL, "
    "expires_at REAL)",
    "CREATE INDEX IF NOT EXISTS live_keys_expiry ON live_keys (expires_at) WHERE expires_at IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS live_hash (key TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, "
    "PRIMARY KEY (key, field))",
    # task logs: capped per task by the writer (sqlite_logs); kept until `expires_at` of the task's last write
    "CREATE TABLE IF NOT EXISTS task_logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, "
    "attempt INTEGER NOT NULL, severity INTEGER NOT NULL, level TEXT NOT NULL, ts INTEGER NOT NULL, "
    "source TEXT NOT NULL, text TEXT NOT NULL, bytes INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS task_logs_task ON task_logs (task_id, seq)",
    "CREATE TABLE IF NOT EXISTS task_log_expiry (task_id TEXT PRIMARY KEY, expires_at REAL NOT NULL)",
]
# Columns added since a table was first created: (table, column, type), added to files made before them.
_ADDED_COLUMNS = [("events", "headers", "TEXT")]  # an event's trace context (JSON object)


def _add_columns(connection: sqlite3.Connection) -> None:
    """Bring a file made by an earlier Skalds up to the columns it lacks (older code ignores them)."""
    for table, column, kind in _ADDED_COLUMNS:
        if column not in {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


class EmbeddedDatabaseError(MisconfiguredError):
    """The embedded database file cannot be used (bad path, not a database, newer schema)."""


def _regexp(pattern: str, flags: str, value: object) -> bool:
    """`$regex` for the task store's filters (SQLite has no regular expressions of its own)."""
    if not isinstance(value, str):
        return False
    return re.search(pattern, value, re.IGNORECASE if "i" in (flags or "") else 0) is not None


def _is_locked(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class SqliteDatabase:
    """The embedded database: one connection per thread, the schema created on first use.

    Safe to share between threads; a process that forked gets fresh connections of its own.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0,
                 lock_deadline: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.busy_timeout = busy_timeout
        self.lock_deadline = lock_deadline
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._schema_ready = False
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteDatabase({str(self.path)!r})"

    # --- connections ---------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        if self._closed:
            raise ServiceUnavailableError(f"embedded database {self.path} is closed")
        if os.getpid() != self._pid:  # forked: the parent's connections must not be used here
            self._local, self._connections, self._pid = threading.local(), [], os.getpid()
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        if not self._schema_ready:
            self._create_schema(connection)
        return connection

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise EmbeddedDatabaseError(f"cannot create the directory of the embedded database {self.path}: "
                                        f"{error}; set SKALDS_EMBEDDED_PATH to a writable location") from error
        try:
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                         check_same_thread=False)
            connection.create_function("regexp", 3, _regexp, deterministic=True)
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            self._retry_locked(lambda: connection.execute("PRAGMA journal_mode = WAL").fetchone())
            connection.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as error:
            raise EmbeddedDatabaseError(f"cannot open the embedded database {self.path}: {error}; "
                                        "set SKALDS_EMBEDDED_PATH to a writable SQLite file") from error
        return connection

    def _create_schema(self, connection: sqlite3.Connection) -> None:
        def create() -> None:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    connection.execute(statement)
                _add_columns(connection)
                row = connection.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
                if row is None:
                    connection.execute("INSERT INTO meta (name, value) VALUES ('schema_version', ?)",
                                       (str(SCHEMA_VERSION),))
                elif int(row[0]) > SCHEMA_VERSION:
                    raise EmbeddedDatabaseError(
                        f"embedded database {self.path} has schema version {row[0]}, newer than this Skalds "
                        f"({SCHEMA_VERSION}); upgrade Skalds or use another SKALDS_EMBEDDED_PATH")
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

        try:
            self._retry_locked(create)
        except sqlite3.DatabaseError as error:
            raise EmbeddedDatabaseError(f"cannot use the embedded database {self.path}: {error}") from error
        self._schema_ready = True

    # --- running statements --------------------------------------------------------------------
    def _retry_locked(self, action: Callable[[], T]) -> T:
        """Run `action`, again while the file is locked by another process, until `lock_deadline`."""
        started, delay = time.monotonic(), 0.005
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if not _is_locked(error):
                    raise
                waited = time.monotonic() - started
                if waited >= self.lock_deadline:
                    raise ServiceUnavailableError(f"embedded database {self.path} stayed locked for "
                                                  f"{waited:.1f}s: {error}") from error
                logger.debug(f"embedded database locked ({error}); retrying in {delay * 1000:.0f} ms")
                time.sleep(delay)
                delay = min(0.2, delay * 2)

    def read(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run reads (one statement, or several that need no common snapshot)."""
        connection = self.connection()
        return self._retry_locked(lambda: action(connection))

    def transaction(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run `action` in one write transaction (BEGIN IMMEDIATE), committed when it returns."""
        connection = self.connection()

        def attempt() -> T:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = action(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result

        return self._retry_locked(attempt)

    def ping(self) -> None:
        """Raise when the file cannot be read."""
        self.read(lambda connection: connection.execute("SELECT 1 FROM meta LIMIT 1").fetchall())

    def close(self) -> None:
        """Close every connection this process opened (other threads' included)."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._closed = True
        for connection in connections:
            try:
                connection.close()
            except sqlite3.Error as error:
                logger.debug(f"closing an embedded database connection: {error}")
        self._local = threading.local()

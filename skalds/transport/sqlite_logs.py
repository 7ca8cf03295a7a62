"""Task logs on the embedded SQLite file: one table, each task's rows cut to its caps on every write.

Mirrors `redis_logs.RedisTaskLogs`: ids are the table's sequence (as text), a task's log expires
`ttl_seconds` after its last write (expired logs read as empty and are deleted by a later write).
The writer keeps each task's line and byte count (read once, then added to), so it trims only when a
cap is passed, and then to `KEEP_AFTER_TRIM` of it: counting the rows on every write cost more than
the write itself.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence

from skalds.model.log_levels import severity
from skalds.transport.log_common import LogLimits, line_bytes
from skalds.transport.ports import LogLine, LogQuery, LogRead
from skalds.transport.sqlite_db import SqliteDatabase

PURGE_EVERY_SECONDS = 60.0
KEEP_AFTER_TRIM = 0.9
MAX_COUNTED_TASKS = 10_000  # counts kept for this many tasks; then they are read again
_COLUMNS = "seq, task_id, attempt, level, ts, source, text"


def _row_line(row: tuple) -> LogLine:
    seq, task_id, attempt, level, ts, source, text = row
    return LogLine(task_id=task_id, attempt=attempt, level=level, ts=ts, text=text, source=source, id=str(seq))


def _seq(after: str) -> int:
    """An id as a sequence number (a Redis-style `ms-n` id counts by its first part)."""
    return int(after.split("-", 1)[0])


def _newest_after(newest: int | None, after: str) -> str | None:
    return str(newest) if newest is not None and newest > _seq(after) else None


class SqliteTaskLogs:
    def __init__(self, database: SqliteDatabase, limits: LogLimits | None = None) -> None:
        self.database = database
        self.limits = limits or LogLimits()
        self._purged_at = 0.0
        self._sizes: dict[str, tuple[int, int]] = {}  # task id -> (lines, bytes) stored, as this writer knows

    def append(self, lines: Sequence[LogLine]) -> None:
        by_task: dict[str, list[LogLine]] = defaultdict(list)
        for line in lines:
            by_task[line.task_id].append(line)
        now = time.time()
        purge = now - self._purged_at >= PURGE_EVERY_SECONDS
        sizes: dict[str, tuple[int, int]] = {}

        def write(connection: sqlite3.Connection) -> None:
            sizes.clear()  # a retried transaction starts again
            for task_id, task_lines in by_task.items():
                connection.executemany(
                    "INSERT INTO task_logs (task_id, attempt, severity, level, ts, source, text, bytes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(task_id, line.attempt, severity(line.level), line.level, line.ts, line.source, line.text,
                      line_bytes(line)) for line in task_lines])
                connection.execute("INSERT INTO task_log_expiry (task_id, expires_at) VALUES (?, ?) ON CONFLICT "
                                   "(task_id) DO UPDATE SET expires_at = excluded.expires_at",
                                   (task_id, now + self.limits.ttl_seconds))
                known = self._sizes.get(task_id)
                count, size = (known[0] + len(task_lines), known[1] + sum(line_bytes(line) for line in task_lines)) \
                    if known is not None else self._measure(connection, task_id)
                if count > self.limits.max_lines or size > self.limits.max_bytes:
                    self._cap(connection, task_id)
                    count, size = self._measure(connection, task_id)
                sizes[task_id] = (count, size)
            if purge:
                self._purge(connection, now)

        self.database.transaction(write)
        if len(self._sizes) + len(sizes) > MAX_COUNTED_TASKS:
            self._sizes.clear()
        self._sizes.update(sizes)
        if purge:
            self._purged_at = now

    @staticmethod
    def _measure(connection: sqlite3.Connection, task_id: str) -> tuple[int, int]:
        count, size = connection.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM task_logs WHERE task_id = ?",
                                         (task_id,)).fetchone()
        return int(count), int(size)

    def _cap(self, connection: sqlite3.Connection, task_id: str) -> None:
        """Delete the task's oldest rows beyond KEEP_AFTER_TRIM of `max_lines`, then of `max_bytes`."""
        lines, size = (int(cap * KEEP_AFTER_TRIM) for cap in (self.limits.max_lines, self.limits.max_bytes))
        row = connection.execute("SELECT seq FROM task_logs WHERE task_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
                                 (task_id, lines)).fetchone()
        if row is not None:
            connection.execute("DELETE FROM task_logs WHERE task_id = ? AND seq <= ?", (task_id, row[0]))
        row = connection.execute(
            "SELECT seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC) AS total FROM task_logs "
            "WHERE task_id = ?) WHERE total > ? ORDER BY seq DESC LIMIT 1", (task_id, size)).fetchone()
        if row is not None:
            connection.execute("DELETE FROM task_logs WHERE task_id = ? AND seq <= ?", (task_id, row[0]))

    @staticmethod
    def _purge(connection: sqlite3.Connection, now: float) -> None:
        expired = [row[0] for row in connection.execute(
            "SELECT task_id FROM task_log_expiry WHERE expires_at <= ? LIMIT 500", (now,))]
        for task_id in expired:
            connection.execute("DELETE FROM task_logs WHERE task_id = ?", (task_id,))
            connection.execute("DELETE FROM task_log_expiry WHERE task_id = ?", (task_id,))

    def read(self, task_id: str, query: LogQuery) -> LogRead:
        where, args = ["task_id = ?", "EXISTS (SELECT 1 FROM task_log_expiry e WHERE e.task_id = task_logs.task_id "
                       "AND e.expires_at > ?)"], [task_id, time.time()]
        for clause, value in (("attempt = ?", query.attempt), ("severity >= ?", query.min_severity or None),
                              ("ts >= ?", query.since), ("instr(lower(text), lower(?)) > 0", query.text or None),
                              ("seq > ?", _seq(query.after) if query.after is not None else None)):
            if value is not None:
                where.append(clause)
                args.append(value)
        order = "ASC" if query.after is not None else "DESC"
        sql = f"SELECT {_COLUMNS} FROM task_logs WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"

        def select(connection: sqlite3.Connection) -> tuple[list[tuple], int | None]:
            rows = connection.execute(sql, (*args, query.limit)).fetchall()
            newest = connection.execute("SELECT MAX(seq) FROM task_logs WHERE task_id = ?", (task_id,)).fetchone()
            return rows, newest[0]
        rows, newest = self.database.read(select)
        lines = [_row_line(row) for row in rows]
        if query.after is not None:
            cut = len(lines) == query.limit  # lines after the last one returned were not looked at
            scanned = lines[-1].id if cut else _newest_after(newest, query.after)
            return LogRead(lines, scanned)
        return LogRead(lines[::-1], None if newest is None else str(newest))

    def close(self) -> None:
        self.database.close()

"""Task logs on the embedded SQLite file: one table, each task's rows cut to its caps on every write.

Mirrors `redis_logs.RedisTaskLogs`: ids are the table's sequence (as text), a task's log expires
`ttl_seconds` after its last write (expired logs read as empty and are deleted by a later write).
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence

from skalds.model.log_levels import severity
from skalds.transport.log_common import LogLimits, line_bytes
from skalds.transport.ports import LogLine, LogQuery
from skalds.transport.sqlite_db import SqliteDatabase

PURGE_EVERY_SECONDS = 60.0
_COLUMNS = "seq, task_id, attempt, level, ts, source, text"


def _row_line(row: tuple) -> LogLine:
    seq, task_id, attempt, level, ts, source, text = row
    return LogLine(task_id=task_id, attempt=attempt, level=level, ts=ts, text=text, source=source, id=str(seq))


def _seq(after: str) -> int:
    """An id as a sequence number (a Redis-style `ms-n` id counts by its first part)."""
    return int(after.split("-", 1)[0])


class SqliteTaskLogs:
    def __init__(self, database: SqliteDatabase, limits: LogLimits | None = None) -> None:
        self.database = database
        self.limits = limits or LogLimits()
        self._purged_at = 0.0

    def append(self, lines: Sequence[LogLine]) -> None:
        by_task: dict[str, list[LogLine]] = defaultdict(list)
        for line in lines:
            by_task[line.task_id].append(line)
        now = time.time()
        purge = now - self._purged_at >= PURGE_EVERY_SECONDS

        def write(connection: sqlite3.Connection) -> None:
            for task_id, task_lines in by_task.items():
                connection.executemany(
                    "INSERT INTO task_logs (task_id, attempt, severity, level, ts, source, text, bytes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(task_id, line.attempt, severity(line.level), line.level, line.ts, line.source, line.text,
                      line_bytes(line)) for line in task_lines])
                connection.execute("INSERT INTO task_log_expiry (task_id, expires_at) VALUES (?, ?) ON CONFLICT "
                                   "(task_id) DO UPDATE SET expires_at = excluded.expires_at",
                                   (task_id, now + self.limits.ttl_seconds))
                self._cap(connection, task_id)
            if purge:
                self._purge(connection, now)

        self.database.transaction(write)
        if purge:
            self._purged_at = now

    def _cap(self, connection: sqlite3.Connection, task_id: str) -> None:
        """Delete the task's oldest rows beyond `max_lines`, then beyond `max_bytes` (newest kept)."""
        limits = self.limits
        row = connection.execute("SELECT seq FROM task_logs WHERE task_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
                                 (task_id, limits.max_lines)).fetchone()
        if row is not None:
            connection.execute("DELETE FROM task_logs WHERE task_id = ? AND seq <= ?", (task_id, row[0]))
        row = connection.execute(
            "SELECT seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC) AS total FROM task_logs "
            "WHERE task_id = ?) WHERE total > ? ORDER BY seq DESC LIMIT 1", (task_id, limits.max_bytes)).fetchone()
        if row is not None:
            connection.execute("DELETE FROM task_logs WHERE task_id = ? AND seq <= ?", (task_id, row[0]))

    @staticmethod
    def _purge(connection: sqlite3.Connection, now: float) -> None:
        expired = [row[0] for row in connection.execute(
            "SELECT task_id FROM task_log_expiry WHERE expires_at <= ? LIMIT 500", (now,))]
        for task_id in expired:
            connection.execute("DELETE FROM task_logs WHERE task_id = ?", (task_id,))
            connection.execute("DELETE FROM task_log_expiry WHERE task_id = ?", (task_id,))

    def read(self, task_id: str, query: LogQuery) -> list[LogLine]:
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
        rows = self.database.read(lambda connection: connection.execute(sql, (*args, query.limit)).fetchall())
        lines = [_row_line(row) for row in rows]
        return lines if query.after is not None else lines[::-1]

    def close(self) -> None:
        self.database.close()

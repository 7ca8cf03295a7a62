"""Checkpoints on the embedded SQLite file (see `checkpoint_docs`): the summary on the task and the
state in `task_checkpoints`, written in one transaction, so a refused save leaves both as they were."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from skalds.transport.checkpoint_docs import SUMMARY_FIELD, record, summary
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_query import where_clause


class SqliteCheckpoints:
    """Mixed into `SqliteTaskStore` (which owns `_db`)."""

    _db: SqliteDatabase

    def save_checkpoint(self, task_id: str, *, executor: str, attempt: int, state: str, saved_at: int) -> bool:
        """Store `state` for `attempt` only while `executor` holds that attempt and no later attempt saved."""
        size = len(state.encode("utf-8"))
        condition, params = where_clause({"id": task_id, "executor": executor, "attempt": attempt})
        text = json.dumps(summary(attempt, saved_at, size))

        def save(connection: sqlite3.Connection) -> bool:
            held = connection.execute("SELECT attempt FROM task_checkpoints WHERE task_id = ?", (task_id,)).fetchone()
            if held is not None and int(held[0]) > attempt:
                return False
            changed = connection.execute(
                f"UPDATE tasks SET doc = json_set(doc, '$.{SUMMARY_FIELD}', json(?)) WHERE {condition}",
                [text, *params]).rowcount
            if not changed:
                return False
            connection.execute(
                "INSERT INTO task_checkpoints (task_id, attempt, saved_at, size_bytes, state) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (task_id) DO UPDATE SET attempt = excluded.attempt, saved_at = excluded.saved_at, "
                "size_bytes = excluded.size_bytes, state = excluded.state",
                (task_id, attempt, saved_at, size, state))
            return True

        return bool(self._db.transaction(save))

    def get_checkpoint(self, task_id: str) -> dict[str, Any] | None:
        row = self._db.read(lambda connection: connection.execute(
            "SELECT attempt, saved_at, size_bytes, state FROM task_checkpoints WHERE task_id = ?",
            (task_id,)).fetchone())
        return record(*row) if row is not None else None

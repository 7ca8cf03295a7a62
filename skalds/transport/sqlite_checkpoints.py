"""Checkpoints on the embedded SQLite file (see `checkpoint_docs`): the state in `task_checkpoints`, the summary
on the task document, each written in one transaction under the fence."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from skalds.transport.checkpoint_docs import SUMMARY_FIELD, record
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_query import where_clause


class SqliteCheckpoints:
    """Mixed into `SqliteTaskStore` (which owns `_db`)."""

    _db: SqliteDatabase

    def save_checkpoint(self, task_id: str, *, executor: str, attempt: int, state: str, saved_at: int) -> bool:
        """Store `state` for `attempt` only while `executor` holds that attempt and no later attempt saved."""
        condition, params = where_clause({"id": task_id, "executor": executor, "attempt": attempt})

        def save(connection: sqlite3.Connection) -> bool:
            if connection.execute(f"SELECT 1 FROM tasks WHERE {condition}", params).fetchone() is None:
                return False
            held = connection.execute("SELECT attempt FROM task_checkpoints WHERE task_id = ?", (task_id,)).fetchone()
            if held is not None and int(held[0]) > attempt:
                return False
            connection.execute(
                "INSERT INTO task_checkpoints (task_id, attempt, saved_at, size_bytes, state) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (task_id) DO UPDATE SET attempt = excluded.attempt, saved_at = excluded.saved_at, "
                "size_bytes = excluded.size_bytes, state = excluded.state",
                (task_id, attempt, saved_at, len(state.encode("utf-8")), state))
            return True

        return bool(self._db.transaction(save))

    def set_checkpoint_summary(self, task_id: str, *, executor: str, attempt: int, summary: dict[str, int]) -> bool:
        condition, params = where_clause({"id": task_id, "executor": executor, "attempt": attempt})
        text = json.dumps(summary)
        return bool(self._db.transaction(lambda connection: connection.execute(
            f"UPDATE tasks SET doc = json_set(doc, '$.{SUMMARY_FIELD}', json(?)) WHERE {condition}",
            [text, *params]).rowcount))

    def get_checkpoint(self, task_id: str) -> dict[str, Any] | None:
        row = self._db.read(lambda connection: connection.execute(
            "SELECT attempt, saved_at, size_bytes, state FROM task_checkpoints WHERE task_id = ?",
            (task_id,)).fetchone())
        return record(*row) if row is not None else None

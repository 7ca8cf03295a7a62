"""Task store port on the embedded SQLite file: `tasks` (id + JSON document) and `task_history`.

Same contract as `mongo_tasks.MongoTaskStore`: camelCase documents keyed by `id`, a duplicate id
is a DuplicateTaskError, and `update` is a compare-and-set run in one write transaction, so two
processes racing on a task never both win.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from skalds.model._time import now_ms
from skalds.transport.errors import DuplicateTaskError, UnstorableError
from skalds.transport.history_cap import MARKER, HistoryCap, already_dropped, marker
from skalds.transport.ports import Change
from skalds.transport.sqlite_checkpoints import SqliteCheckpoints
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_query import (
    index_columns,
    json_path,
    order_clause,
    project_row,
    projection,
    where_clause,
)
from skalds.transport.task_indexes import TASK_INDEXES


def _dumps(document: dict[str, Any], what: str) -> str:
    try:
        return json.dumps(document, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise UnstorableError(f"{what} cannot be stored as JSON: {error}") from error


def _get_path(document: dict[str, Any], field: str) -> Any:
    value: Any = document
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _set_path(document: dict[str, Any], field: str, value: Any) -> None:
    *parents, leaf = field.split(".")
    target = document
    for part in parents:
        child = target.get(part)
        if child is None:
            child = target[part] = {}
        elif not isinstance(child, dict):
            raise ValueError(f"cannot set {field!r}: {part!r} is not an object")
        target = child
    target[leaf] = value


def _checked_change(task_id: str, changes: dict[str, Any], increment: dict[str, int] | None) -> dict[str, Any]:
    """`changes` once its field names, the id and the increments are known to be sound."""
    for field in [*changes, *(increment or {})]:
        json_path(field)
    if changes.get("id", task_id) != task_id or "id" in (increment or {}):
        raise ValueError(f"the id of task {task_id!r} cannot be changed")
    clashing = set(changes) & set(increment or {})
    if clashing:
        raise ValueError(f"fields both set and incremented: {sorted(clashing)}")
    for field, step in (increment or {}).items():
        if isinstance(step, bool) or not isinstance(step, (int, float)):
            raise ValueError(f"increment of {field!r} must be a number, got {step!r}")
    return changes


def _changed(document: dict[str, Any], task_id: str, changes: dict[str, Any],
             increment: dict[str, int] | None) -> dict[str, Any]:
    """`document` with the fields set and the counters moved on (a missing counter counts from 0)."""
    for field, value in changes.items():
        _set_path(document, field, value)
    for field, step in (increment or {}).items():
        current = _get_path(document, field)
        if current is None:
            current = 0
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ValueError(f"cannot increment {field!r} of task {task_id!r}: it holds {current!r}")
        _set_path(document, field, current + step)
    return document


def _select(columns: str, where: dict[str, Any] | None, sort: Sequence[tuple[str, int]], skip: int,
            limit: int) -> tuple[str, list[Any]]:
    """The SELECT of a `find`, with its parameters."""
    if skip < 0 or limit < 0:
        raise ValueError("skip and limit must not be negative")
    condition, params = where_clause(where)
    page = f" LIMIT {int(limit) if limit else -1} OFFSET {int(skip)}"
    return f"SELECT {columns} FROM tasks WHERE {condition} ORDER BY {order_clause(sort)}{page}", params


class SqliteTaskStore(SqliteCheckpoints):
    """Task documents in the embedded database file."""

    def __init__(self, database: SqliteDatabase, history_limit: int = 0) -> None:
        self._db = database
        self.history_cap = HistoryCap(history_limit)

    @property
    def database(self) -> SqliteDatabase:
        return self._db

    def ensure_indexes(self) -> None:
        """The schema is created when the file is first opened; then the table in `task_indexes`, on the
        same expressions as the queries' (`sqlite_query.column`), so SQLite uses them."""
        statements = [f"CREATE INDEX IF NOT EXISTS tasks_{name} ON tasks ({index_columns(keys)})"
                      for name, keys in TASK_INDEXES.items()]
        self._db.transaction(lambda connection: [connection.execute(sql) for sql in statements])

    def ping(self) -> None:
        self._db.ping()

    def insert(self, document: dict[str, Any]) -> None:
        task_id = document.get("id") if isinstance(document, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ValueError("a task document needs a non-empty string `id`")
        text = _dumps(dict(document), f"task {task_id!r}")
        try:
            self._db.transaction(lambda connection: connection.execute(
                "INSERT INTO tasks (id, doc) VALUES (?, ?)", (task_id, text)))
        except sqlite3.IntegrityError as error:
            raise DuplicateTaskError(f"task {task_id!r} already exists") from error

    def get(self, task_id: str) -> dict[str, Any] | None:
        row = self._db.read(lambda connection: connection.execute(
            "SELECT doc FROM tasks WHERE id = ?", (task_id,)).fetchone())
        return json.loads(row[0]) if row is not None else None

    def update(
        self,
        task_id: str,
        set_fields: dict[str, Any] | None = None,
        *,
        expect: dict[str, Any] | None = None,
        increment: dict[str, int] | None = None,
    ) -> dict[str, Any] | None:
        """Apply the change only if every `expect` field matches; returns the new document or None."""
        changes = _checked_change(task_id, {"updateDateTime": now_ms(), **(set_fields or {})}, increment)
        condition, params = where_clause({**(expect or {}), "id": task_id})

        def change(connection: sqlite3.Connection) -> dict[str, Any] | None:
            row = connection.execute(f"SELECT doc FROM tasks WHERE {condition}", params).fetchone()
            if row is None:
                return None
            document = _changed(json.loads(row[0]), task_id, changes, increment)
            connection.execute("UPDATE tasks SET doc = ? WHERE id = ?", (_dumps(document, f"task {task_id!r}"),
                                                                          task_id))
            return document

        return self._db.transaction(change)

    def update_each(self, changes: Sequence[Change]) -> list[str]:
        """Every change in one write transaction, each under its own `expect`; the ids applied, in order."""
        if len({change.task_id for change in changes}) < len(changes):
            raise ValueError("update_each takes at most one change per task")
        stamp = now_ms()
        checked = [(change, _checked_change(change.task_id, {"updateDateTime": stamp, **change.set_fields},
                                            change.increment), where_clause({**change.expect, "id": change.task_id}))
                   for change in changes]

        def apply(connection: sqlite3.Connection) -> list[str]:
            applied = []
            for change, fields, (condition, params) in checked:
                row = connection.execute(f"SELECT doc FROM tasks WHERE {condition}", params).fetchone()
                if row is None:
                    continue
                document = _changed(json.loads(row[0]), change.task_id, fields, change.increment)
                connection.execute("UPDATE tasks SET doc = ? WHERE id = ?",
                                   (_dumps(document, f"task {change.task_id!r}"), change.task_id))
                applied.append(change.task_id)
            return applied

        return self._db.transaction(apply) if checked else []

    def update_where(self, task_ids: Sequence[str], set_fields: dict[str, Any], *, expect: dict[str, Any]) -> int:
        """The same change to every task in `task_ids` that matches `expect`, in one transaction; how many changed."""
        changes = {"updateDateTime": now_ms(), **set_fields}
        for field in changes:
            json_path(field)
        if "id" in changes:
            raise ValueError("update_where cannot change task ids")
        condition, params = where_clause({**expect, "id": list(task_ids)})

        def change(connection: sqlite3.Connection) -> int:
            rows = connection.execute(f"SELECT id, doc FROM tasks WHERE {condition}", params).fetchall()
            for task_id, text in rows:
                document = json.loads(text)
                for field, value in changes.items():
                    _set_path(document, field, value)
                connection.execute("UPDATE tasks SET doc = ? WHERE id = ?",
                                   (_dumps(document, f"task {task_id!r}"), task_id))
            return len(rows)

        return self._db.transaction(change)

    def delete_where(self, task_ids: Sequence[str], *, expect: dict[str, Any]) -> list[str]:
        """In one transaction: the matching tasks, their history and checkpoints."""
        condition, params = where_clause({**expect, "id": list(dict.fromkeys(task_ids))})

        def delete(connection: sqlite3.Connection) -> list[str]:
            ids = [row[0] for row in connection.execute(f"SELECT id FROM tasks WHERE {condition}", params)]
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ", ".join("?" * len(chunk))
                connection.execute(f"DELETE FROM tasks WHERE id IN ({marks})", chunk)
                connection.execute(f"DELETE FROM task_history WHERE task_id IN ({marks})", chunk)
                connection.execute(f"DELETE FROM task_checkpoints WHERE task_id IN ({marks})", chunk)
            return ids

        return self._db.transaction(delete) if task_ids else []

    def find(
        self,
        where: dict[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] = (),
        skip: int = 0,
        limit: int = 0,
        fields: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        if fields is None:
            sql, params = _select("doc", where, sort, skip, limit)
            rows = self._db.read(lambda connection: connection.execute(sql, params).fetchall())
            return [json.loads(row[0]) for row in rows]
        names, selects = projection(fields)
        sql, params = _select(selects, where, sort, skip, limit)
        rows = self._db.read(lambda connection: connection.execute(sql, params).fetchall())
        return [project_row(names, row) for row in rows]

    def plan(self, where: dict[str, Any] | None = None, *, sort: Sequence[tuple[str, int]] = (),
             limit: int = 0) -> list[str]:
        """SQLite's plan (EXPLAIN QUERY PLAN details) of the query `find` runs: which index serves it."""
        sql, params = _select("doc", where, sort, 0, limit)
        rows = self._db.read(lambda connection: connection.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
        return [str(row[3]) for row in rows]

    def count(self, where: dict[str, Any] | None = None, *, limit: int = 0) -> int:
        """How many match; with `limit`, at most that many (the scan stops there)."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        condition, params = where_clause(where)
        inner = f"SELECT 1 FROM tasks WHERE {condition}" + (f" LIMIT {int(limit)}" if limit else "")
        return int(self._db.read(lambda connection: connection.execute(
            f"SELECT COUNT(*) FROM ({inner})", params).fetchone()[0]))

    def group_count(self, field: str, where: dict[str, Any] | None = None) -> dict[Any, int]:
        """How many tasks per value of `field` (None for tasks without it)."""
        return self.group_counts([field], where)[field]

    def group_counts(self, fields: Sequence[str], where: dict[str, Any] | None = None) -> dict[str, dict[Any, int]]:
        """One GROUP BY over (value, JSON type) of every field; each field's counts are summed from its groups."""
        condition, params = where_clause(where)
        names, selects = projection(fields)
        columns = ", ".join(str(number) for number in range(1, 2 * len(names) + 1))
        rows = self._db.read(lambda connection: connection.execute(
            f"SELECT {selects}, COUNT(*) FROM tasks WHERE {condition} GROUP BY {columns}", params).fetchall())
        counts: dict[str, dict[Any, int]] = {field: {} for field in fields}
        for row in rows:
            document = project_row(names, row[:-1])
            for field in fields:
                value = _get_path(document, field)
                key = json.dumps(value) if isinstance(value, (dict, list)) else value
                counts[field][key] = counts[field].get(key, 0) + int(row[-1])
        return counts

    # --- history -------------------------------------------------------------------------------
    def append_history(self, task_id: str, entry: dict[str, Any]) -> None:
        document = {"taskId": task_id, "ts": now_ms(), **entry}
        ts = document["ts"]
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise ValueError(f"history entry of task {task_id!r}: ts must be an integer (ms), got {ts!r}")
        text = _dumps(document, f"history entry of task {task_id!r}")
        self._db.transaction(lambda connection: connection.execute(
            "INSERT INTO task_history (task_id, ts, doc) VALUES (?, ?, ?)", (task_id, ts, text)))
        for due in self.history_cap.due([task_id]):
            self.trim_history(due)

    def append_history_many(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Several entries in one transaction, all stamped with the same time."""
        stamp = now_ms()
        rows = []
        for task_id, entry in entries:
            document = {"taskId": task_id, "ts": stamp, **entry}
            if isinstance(document["ts"], bool) or not isinstance(document["ts"], int):
                raise ValueError(f"history entry of task {task_id!r}: ts must be an integer (ms)")
            rows.append((task_id, document["ts"], _dumps(document, f"history entry of task {task_id!r}")))
        if rows:
            self._db.transaction(lambda connection: connection.executemany(
                "INSERT INTO task_history (task_id, ts, doc) VALUES (?, ?, ?)", rows))
            for due in self.history_cap.due(row[0] for row in rows):
                self.trim_history(due)

    def trim_history(self, task_id: str) -> int:
        """In one transaction: drop the oldest entries beyond the cap, leaving one marker first; how many now."""

        def trim(connection: sqlite3.Connection) -> int:
            stored = connection.execute("SELECT COUNT(*) FROM task_history WHERE task_id = ?", (task_id,)).fetchone()[0]
            excess = self.history_cap.excess(int(stored))
            if not excess:
                return 0
            oldest = [(seq, ts, json.loads(doc)) for seq, ts, doc in connection.execute(
                "SELECT seq, ts, doc FROM task_history WHERE task_id = ? ORDER BY ts, seq LIMIT ?",
                (task_id, excess + 1))]
            entries = [entry for _seq, _ts, entry in oldest]
            fresh = sum(1 for entry in entries if entry.get("type") != MARKER)
            ts = int(oldest[0][1]) - (0 if entries[0].get("type") == MARKER else 1)  # before those kept
            connection.executemany("DELETE FROM task_history WHERE seq = ?", [(seq,) for seq, _ts, _e in oldest])
            connection.execute("INSERT INTO task_history (task_id, ts, doc) VALUES (?, ?, ?)",
                               (task_id, ts, _dumps(marker(task_id, ts, already_dropped(entries) + fresh), "marker")))
            return fresh

        return self._db.transaction(trim)

    def history(self, task_id: str, limit: int = 500) -> list[dict[str, Any]]:
        rows = self._db.read(lambda connection: connection.execute(
            "SELECT doc FROM task_history WHERE task_id = ? ORDER BY ts, seq LIMIT ?", (task_id, limit)).fetchall())
        return [json.loads(row[0]) for row in rows]

    def close(self) -> None:
        self._db.close()

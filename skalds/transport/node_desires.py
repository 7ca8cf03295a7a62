"""The node desires port: what an operator wants of a node (cordoned, drained), stored durably.

Kept in the task store's family (a `skald_nodes` collection on MongoDB, a table in the embedded file), never
only in live state: Redis may restart empty, and a drain must survive it and a controller's death. One small
document per node, keyed by its id; the controller reads them all (there are few nodes).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Protocol

from skalds.transport.sqlite_db import SqliteDatabase

MAX_NODES = 10_000  # documents read per refresh: far more nodes than a cluster has


class NodeDesires(Protocol):
    def all(self) -> dict[str, dict[str, Any]]:
        """Every stored node document by node id."""
        ...
    def get(self, node_id: str) -> dict[str, Any] | None: ...
    def put(self, node_id: str, document: dict[str, Any]) -> None:
        """Store (or replace) the node's document."""
        ...
    def delete(self, node_id: str) -> None: ...


_TABLE = "CREATE TABLE IF NOT EXISTS skald_nodes (id TEXT PRIMARY KEY, doc TEXT NOT NULL)"


class SqliteNodeDesires:
    """The embedded family's: one row per node in the shared file."""

    def __init__(self, database: SqliteDatabase) -> None:
        self.database = database
        self._ready = False

    def _table(self) -> None:
        if not self._ready:
            self.database.transaction(lambda connection: connection.execute(_TABLE))
            self._ready = True

    def all(self) -> dict[str, dict[str, Any]]:
        self._table()
        rows = self.database.read(lambda connection: connection.execute(
            "SELECT id, doc FROM skald_nodes ORDER BY id LIMIT ?", (MAX_NODES,)).fetchall())
        return {row[0]: json.loads(row[1]) for row in rows}

    def get(self, node_id: str) -> dict[str, Any] | None:
        self._table()
        row = self.database.read(lambda connection: connection.execute(
            "SELECT doc FROM skald_nodes WHERE id = ?", (node_id,)).fetchone())
        return json.loads(row[0]) if row else None

    def put(self, node_id: str, document: dict[str, Any]) -> None:
        self._table()
        text = json.dumps({**document, "id": node_id})

        def write(connection: sqlite3.Connection) -> None:
            connection.execute("INSERT INTO skald_nodes (id, doc) VALUES (?, ?) "
                               "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc", (node_id, text))
        self.database.transaction(write)

    def delete(self, node_id: str) -> None:
        self._table()
        self.database.transaction(lambda connection: connection.execute(
            "DELETE FROM skald_nodes WHERE id = ?", (node_id,)))

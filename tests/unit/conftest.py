"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteTaskStore]:
    """A task store on an embedded database file of its own."""
    database = SqliteDatabase(tmp_path / "skalds.db")
    yield SqliteTaskStore(database)
    database.close()

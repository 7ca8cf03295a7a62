"""The embedded store caps each task's history: oldest entries dropped, one marker first (TASK_HISTORY_LIMIT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skalds.config.system_controller_config import SystemControllerConfig
from skalds.transport.history_cap import HistoryCap
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore
from support import history_checks

pytestmark = pytest.mark.unit


def test_history_beyond_the_limit_is_dropped_oldest_first_with_one_marker(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "skalds.db")
    try:
        history_checks.fill_and_check(SqliteTaskStore(database, history_limit=40), limit=40)
    finally:
        database.close()


def test_no_limit_keeps_everything(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "skalds.db")
    try:
        history_checks.uncapped(SqliteTaskStore(database, history_limit=0))
    finally:
        database.close()


def test_the_history_is_counted_every_tenth_append_not_on_each() -> None:
    cap = HistoryCap(1000)
    assert cap.every == 100
    assert sum(len(cap.due(["t"])) for _ in range(1000)) == 10
    with pytest.raises(ValueError):
        HistoryCap(-1)


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SystemControllerConfig().task_history_limit == 1000
    monkeypatch.setenv("TASK_HISTORY_LIMIT", "0")
    assert SystemControllerConfig().task_history_limit == 0
    monkeypatch.setenv("TASK_HISTORY_LIMIT", "-5")
    with pytest.raises(ValueError):
        SystemControllerConfig()

"""Deleting terminal tasks: one by a user, many by the retention job, in bounded batches."""

from __future__ import annotations

import pytest

from skalds.tasks import retention
from skalds.tasks.lifecycle import Refusal
from skalds.transport.sqlite_tasks import SqliteTaskStore

pytestmark = pytest.mark.unit


@pytest.fixture
def store(sqlite_store: SqliteTaskStore) -> SqliteTaskStore:
    return sqlite_store


def _task(store: SqliteTaskStore, task_id: str, status: str, changed: int) -> None:
    store.insert({"id": task_id, "className": "W", "lifecycleStatus": status, "updateDateTime": changed})
    store.append_history(task_id, {"type": "status", "status": status})


def test_a_user_deletes_only_a_terminal_task(store: SqliteTaskStore) -> None:
    _task(store, "done", "Failed", 1)
    _task(store, "live", "Running", 1)
    assert retention.delete(store, "done").applied and store.get("done") is None and store.history("done") == []
    refused = retention.delete(store, "live")
    assert refused.refusal is Refusal.WRONG_STATUS and "cancel it first" in refused.reason
    assert retention.delete(store, "done").refusal is Refusal.NOT_FOUND


def test_the_job_removes_old_terminal_tasks_oldest_first_in_bounded_batches(store: SqliteTaskStore) -> None:
    for index in range(7):
        _task(store, f"old-{index}", "Finished", 100 + index)
    _task(store, "young", "Cancelled", 10_000)
    _task(store, "old-live", "Paused", 1)
    assert retention.expired(store, 5_000, limit=3) == ["old-0", "old-1", "old-2"]
    assert retention.remove_expired(store, 5_000, batch=3, max_batches=2) == 6  # bounded per cycle
    assert retention.remove_expired(store, 5_000, batch=3, max_batches=2) == 1
    assert retention.remove_expired(store, 5_000) == 0
    assert {document["id"] for document in store.find()} == {"young", "old-live"}

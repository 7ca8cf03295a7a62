"""Checkpoint store contract (issue #15): the same on MongoDB (FerretDB) and on the embedded SQLite file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from skalds.transport.ports import TaskStore
from support.families import Family

pytestmark = pytest.mark.integration


def owned(task_id: str, executor: str = "node-a", attempt: int = 1, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "className": "Worker", "mode": "Passive", "lifecycleStatus": "Running",
            "executor": executor, "attempt": attempt, "createDateTime": 1000, "updateDateTime": 1000, **fields}


@pytest.fixture
def store(family: Family) -> TaskStore:
    return family.store()


def test_a_saved_checkpoint_is_read_back_and_stays_out_of_the_task_document(store: TaskStore) -> None:
    store.insert(owned("c1"))
    assert store.get_checkpoint("c1") is None
    state = json.dumps({"frame": 41, "nested": {"x": [1, 2.5, None]}})
    assert store.save_checkpoint("c1", executor="node-a", attempt=1, state=state, saved_at=5000)
    found = store.get_checkpoint("c1")
    assert found == {"attempt": 1, "savedAt": 5000, "sizeBytes": len(state), "state": json.loads(state)}
    assert store.get("c1") == owned("c1")  # a save does not write the task document at all


def test_the_summary_is_fenced_and_leaves_the_update_time(store: TaskStore) -> None:
    store.insert(owned("s1", attempt=2))
    summary = {"savedAt": 5000, "attempt": 2, "sizeBytes": 12}
    assert not store.set_checkpoint_summary("s1", executor="node-a", attempt=1, summary=summary)
    assert not store.set_checkpoint_summary("s1", executor="node-b", attempt=2, summary=summary)
    assert "checkpoint" not in store.get("s1")
    assert store.set_checkpoint_summary("s1", executor="node-a", attempt=2, summary=summary)
    document = store.get("s1")
    assert document["checkpoint"] == summary
    assert document["updateDateTime"] == 1000  # a save is no change of state: lists and retries keep their order


def test_a_later_save_replaces_the_earlier(store: TaskStore) -> None:
    store.insert(owned("c2"))
    store.save_checkpoint("c2", executor="node-a", attempt=1, state='{"n":1}', saved_at=1)
    store.save_checkpoint("c2", executor="node-a", attempt=1, state='{"n":2}', saved_at=2)
    assert store.get_checkpoint("c2")["state"] == {"n": 2}
    assert store.get_checkpoint("c2")["savedAt"] == 2


def test_a_stale_attempt_or_another_executor_is_refused(store: TaskStore) -> None:
    store.insert(owned("c3", attempt=2))
    assert store.save_checkpoint("c3", executor="node-a", attempt=2, state='{"n":2}', saved_at=20)
    assert not store.save_checkpoint("c3", executor="node-a", attempt=1, state='{"n":1}', saved_at=30)
    assert not store.save_checkpoint("c3", executor="node-b", attempt=2, state='{"n":9}', saved_at=40)
    assert store.get_checkpoint("c3") == {"attempt": 2, "savedAt": 20, "sizeBytes": 7, "state": {"n": 2}}


def test_a_save_under_an_earlier_attempt_than_the_stored_checkpoint_is_refused(store: TaskStore) -> None:
    """A task's attempt never goes back, but should it, the state still must not."""
    store.insert(owned("c4", attempt=3))
    assert store.save_checkpoint("c4", executor="node-a", attempt=3, state='{"n":3}', saved_at=3)
    store.update("c4", {"attempt": 2})  # only a test can do this: attempts only grow
    assert not store.save_checkpoint("c4", executor="node-a", attempt=2, state='{"n":2}', saved_at=4)
    assert store.get_checkpoint("c4")["state"] == {"n": 3}


def test_a_task_of_0_3_8_without_attempt_takes_a_checkpoint_of_attempt_0(store: TaskStore) -> None:
    document = owned("c5")
    del document["attempt"]
    store.insert(document)
    assert store.save_checkpoint("c5", executor="node-a", attempt=0, state="{}", saved_at=1)
    assert store.get_checkpoint("c5")["attempt"] == 0
    assert store.set_checkpoint_summary("c5", executor="node-a", attempt=0, summary={"savedAt": 1})


def test_deleting_a_task_deletes_its_checkpoint(store: TaskStore) -> None:
    store.insert(owned("c6"))
    store.save_checkpoint("c6", executor="node-a", attempt=1, state='{"n":1}', saved_at=1)
    assert store.delete_where(["c6"], expect={}) == ["c6"]
    assert store.get_checkpoint("c6") is None
    store.insert(owned("c6"))  # a task created again under the same id starts without one
    assert store.get_checkpoint("c6") is None


def test_a_checkpoint_of_one_mebibyte_is_stored(store: TaskStore) -> None:
    state = json.dumps({"blob": "x" * (1024 * 1024 - 20)})
    store.insert(owned("c7"))
    assert store.save_checkpoint("c7", executor="node-a", attempt=1, state=state, saved_at=1)
    assert store.get_checkpoint("c7")["sizeBytes"] == len(state)

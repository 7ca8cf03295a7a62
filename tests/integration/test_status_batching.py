"""Batched status writes on the real task store: grouped compare-and-set, merged statuses, order kept."""

from __future__ import annotations

import threading
import time

import pytest

from skalds.model.task import TaskLifecycleStatus
from skalds.node.store_writer import StoreWriter
from skalds.repository.repository import StatusChange
from support.cluster import Cluster
from support.workers import SleepModel

pytestmark = pytest.mark.integration
S = TaskLifecycleStatus


def _assigned(cluster: Cluster, count: int, executor: str = "node-a") -> list[str]:
    ids = [f"batch-{index}" for index in range(count)]
    for task_id in ids:
        cluster.create(task_id, "SleepWorker", SleepModel(seconds=1), executor=executor)
    return ids


def test_grouped_write_reports_exactly_the_tasks_it_does_not_own(cluster: Cluster) -> None:
    ids = _assigned(cluster, 6)
    cluster.repository.update_executor(ids[1], "node-b")  # reassigned: attempt 2 on another node
    cluster.repository.update_executor(ids[4], "node-a")  # same node, newer attempt
    changes = [StatusChange.of(task_id, S.Running, executor="node-a", attempt=1) for task_id in ids]
    lost = cluster.repository.record_statuses(changes)
    assert lost == {ids[1], ids[4]}
    for task_id in ids:
        document = cluster.doc(task_id)
        expected = S.Assigning.value if task_id in lost else S.Running.value
        assert document["lifecycleStatus"] == expected, task_id
    history = cluster.repository.history(ids[0])
    assert [entry["type"] for entry in history][-1] == "status"
    assert not any(entry.get("status") == S.Running.value for entry in cluster.repository.history(ids[1]))


def test_writer_merges_running_and_finished_and_keeps_both_history_entries(cluster: Cluster) -> None:
    ids = _assigned(cluster, 3)
    lost: list[tuple[str, int]] = []
    writer = StoreWriter(cluster.repository.store, lambda task_id, attempt: lost.append((task_id, attempt)))
    for task_id in ids:  # queued before the thread starts: one batch, merged per task
        writer.status(StatusChange.of(task_id, S.Running, executor="node-a", attempt=1), stop_if_lost=True)
        writer.status(StatusChange.of(task_id, S.Finished, executor="node-a", attempt=1, exit_code=0))
    writer.start()
    assert writer.drain(30)
    writer.close(5)
    assert lost == []
    for task_id in ids:
        document = cluster.doc(task_id)
        assert document["lifecycleStatus"] == S.Finished.value and document["exitCode"] == 0
        statuses = [entry.get("status") for entry in cluster.repository.history(task_id) if entry["type"] == "status"]
        assert statuses == [S.Running.value, S.Finished.value]


def test_finished_alone_and_running_plus_finished_share_one_update(cluster: Cluster, monkeypatch) -> None:
    """In a burst a batch holds some tasks' Running + Finished and other tasks' Finished alone
    (their Running went out in the previous batch): both kinds are one compare-and-set."""
    started, fresh = _assigned(cluster, 2)
    cluster.repository.record_statuses([StatusChange.of(started, S.Running, executor="node-a", attempt=1)])
    store = cluster.repository.store
    update_where, updated = store.update_where, []

    def counting(task_ids, *args, **kwargs):
        updated.append(sorted(task_ids))
        return update_where(task_ids, *args, **kwargs)
    monkeypatch.setattr(store, "update_where", counting)
    writer = StoreWriter(cluster.repository.store, lambda _task, _attempt: None)
    writer.status(StatusChange.of(started, S.Finished, executor="node-a", attempt=1, exit_code=0))
    writer.status(StatusChange.of(fresh, S.Running, executor="node-a", attempt=1), stop_if_lost=True)
    writer.status(StatusChange.of(fresh, S.Finished, executor="node-a", attempt=1, exit_code=0))
    writer.start()
    assert writer.drain(30)
    writer.close(5)
    assert updated == [sorted([started, fresh])]
    for task_id in (started, fresh):
        document = cluster.doc(task_id)
        assert (document["lifecycleStatus"], document["exitCode"], document.get("error")) == (S.Finished.value, 0, None)


def test_a_lingering_writer_makes_statuses_queued_apart_one_write(cluster: Cluster) -> None:
    """With a linger, a Running and the Finished that follows it a few ms later share one write
    (the store sees Finished directly), and the history still has both, in order."""
    [task_id] = _assigned(cluster, 1)
    writer = StoreWriter(cluster.repository.store, lambda _task, _attempt: None, linger_seconds=0.5)
    writer.start()
    try:
        writer.status(StatusChange.of(task_id, S.Running, executor="node-a", attempt=1), stop_if_lost=True)
        time.sleep(0.1)
        assert cluster.doc(task_id)["lifecycleStatus"] == S.Assigning.value  # still waiting for company
        writer.status(StatusChange.of(task_id, S.Finished, executor="node-a", attempt=1, exit_code=0))
        assert writer.drain(30)
    finally:
        writer.close(5)
    assert cluster.doc(task_id)["lifecycleStatus"] == S.Finished.value
    statuses = [entry.get("status") for entry in cluster.repository.history(task_id) if entry["type"] == "status"]
    assert statuses == [S.Running.value, S.Finished.value]
    # one write for both: the two history entries carry the same stamp
    stamps = {entry["ts"] for entry in cluster.repository.history(task_id) if entry["type"] == "status"}
    assert len(stamps) == 1


def test_an_old_attempts_refused_write_does_not_stop_the_next_attempt_in_the_same_batch(cluster: Cluster) -> None:
    """A restart on the same node: the old copy's Cancelled (attempt 1, no longer owned) and the new copy's
    Running (attempt 2) are written together; only attempt 1 is reported, the new copy is recorded."""
    [task_id] = _assigned(cluster, 1)
    cluster.repository.update_executor(task_id, "node-a")  # attempt 2, same node
    lost: list[tuple[str, int]] = []
    writer = StoreWriter(cluster.repository.store, lambda task_id, attempt: lost.append((task_id, attempt)))
    writer.status(StatusChange.of(task_id, S.Cancelled, executor="node-a", attempt=1, exit_code=143))
    writer.status(StatusChange.of(task_id, S.Running, executor="node-a", attempt=2), stop_if_lost=True)
    writer.start()
    assert writer.drain(30)
    writer.close(5)
    assert lost == []
    document = cluster.doc(task_id)
    assert document["lifecycleStatus"] == S.Running.value and document["attempt"] == 2
    statuses = [entry.get("status") for entry in cluster.repository.history(task_id) if entry["type"] == "status"]
    assert statuses == [S.Running.value]


def test_writer_calls_back_for_a_running_task_owned_by_someone_else(cluster: Cluster) -> None:
    [task_id] = _assigned(cluster, 1)
    cluster.repository.update_executor(task_id, "node-b")
    lost: list[tuple[str, int]] = []
    writer = StoreWriter(cluster.repository.store, lambda task_id, attempt: lost.append((task_id, attempt)))
    writer.start()
    writer.status(StatusChange.of(task_id, S.Running, executor="node-a", attempt=1), stop_if_lost=True)
    assert writer.drain(30)
    writer.close(5)
    assert lost == [(task_id, 1)]
    assert cluster.doc(task_id)["executor"] == "node-b"


def test_writer_keeps_order_across_a_failing_write(cluster: Cluster) -> None:
    """A write that fails is retried before anything queued behind it."""
    [task_id] = _assigned(cluster, 1)
    order: list[str] = []
    attempts = {"n": 0}
    failed_once = threading.Event()

    def flaky() -> None:
        attempts["n"] += 1
        if attempts["n"] == 1:
            failed_once.set()
            raise ConnectionError("store unreachable (simulated by the action, not by a mock store)")
        order.append("flaky")

    writer = StoreWriter(cluster.repository.store, lambda _task, _attempt: None, retry_seconds=0.2)
    writer.call(flaky)
    writer.status(StatusChange.of(task_id, S.Running, executor="node-a", attempt=1))
    writer.call(lambda: order.append("after"))
    writer.start()
    assert writer.drain(30)
    writer.close(5)
    assert failed_once.is_set() and order == ["flaky", "after"]
    assert cluster.doc(task_id)["lifecycleStatus"] == S.Running.value

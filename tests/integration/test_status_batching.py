"""Batched status writes on the real task store: grouped compare-and-set, merged statuses, order kept."""

from __future__ import annotations

import threading

import pytest

from skalds.model.task import TaskLifecycleStatus
from skalds.repository.repository import StatusChange
from skalds.worker.store_writer import StoreWriter
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
    lost: list[str] = []
    writer = StoreWriter(cluster.repository, lost.append)
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


def test_writer_calls_back_for_a_running_task_owned_by_someone_else(cluster: Cluster) -> None:
    [task_id] = _assigned(cluster, 1)
    cluster.repository.update_executor(task_id, "node-b")
    lost: list[str] = []
    writer = StoreWriter(cluster.repository, lost.append)
    writer.start()
    writer.status(StatusChange.of(task_id, S.Running, executor="node-a", attempt=1), stop_if_lost=True)
    assert writer.drain(30)
    writer.close(5)
    assert lost == [task_id]
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

    writer = StoreWriter(cluster.repository, lambda _task: None, retry_seconds=0.2)
    writer.call(flaky)
    writer.status(StatusChange.of(task_id, S.Running, executor="node-a", attempt=1))
    writer.call(lambda: order.append("after"))
    writer.start()
    assert writer.drain(30)
    writer.close(5)
    assert failed_once.is_set() and order == ["flaky", "after"]
    assert cluster.doc(task_id)["lifecycleStatus"] == S.Running.value

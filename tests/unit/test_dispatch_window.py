"""The dispatcher's pass looks further than one batch, so a flood of one high-priority class that has no
room left does not hide the waiting tasks of a class other nodes can take (embedded store, no processes)."""

from collections.abc import Collection
from pathlib import Path

import pytest

from skalds.system_controller.dispatcher import Dispatcher
from skalds.system_controller.listeners import DispatchInbox
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.task_service import TaskService
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore
from support.live_views import view_of

pytestmark = pytest.mark.unit


class View:
    """Fixed nodes; the tasks are a live view read from the store at each look (the feed caught up)."""

    def __init__(self, nodes: list[NodeRecord], store: SqliteTaskStore) -> None:
        self._nodes = {node.id: node for node in nodes}
        self.store = store

    def nodes(self) -> dict[str, NodeRecord]:
        return self._nodes

    def active_tasks(self) -> dict[str, dict]:
        return {}

    def waiting(self, limit: int, classes: Collection[str] | None = None) -> list[dict]:
        return view_of(self.store).view.waiting(limit, classes)

    def failed_with_retries(self, limit: int) -> list[dict]:
        return view_of(self.store).view.failed_with_retries()[:limit]

    def stale(self, task_ids: list[str]) -> None:
        pass  # read afresh at each look


def test_a_flood_larger_than_a_batch_does_not_starve_a_class_other_nodes_can_take(tmp_path: Path):
    store = SqliteTaskStore(SqliteDatabase(tmp_path / "skalds.db"))
    inbox = DispatchInbox()
    service = TaskService(store, None, listener=inbox)
    for index in range(600):
        store.insert({"id": f"a-{index:03d}", "className": "A", "mode": "Passive", "lifecycleStatus": "Created",
                      "priority": 9, "createDateTime": index, "attempt": 0})
    for index in range(3):
        store.insert({"id": f"b-{index}", "className": "B", "mode": "Passive", "lifecycleStatus": "Created",
                      "priority": 0, "createDateTime": index, "attempt": 0})
    nodes = [NodeRecord(id="n-a", online=True, supported_tasks=["A"], capacity=2),
             NodeRecord(id="n-b", online=True, supported_tasks=["B"], capacity=3)]
    dispatcher = Dispatcher(service, View(nodes, store), inbox, ControllerMetrics(), strategy="LEAST_TASKS",
                            default_capacity=0, retry_backoff_seconds=1.0, batch=500)
    assert dispatcher.dispatch_once() == 5
    assert [store.get(f"b-{index}")["executor"] for index in range(3)] == ["n-b"] * 3
    assert [store.get(f"a-{index:03d}").get("executor") for index in range(3)] == ["n-a", "n-a", None]


class Snapshot(View):
    """A view read once, so it is behind the store after a change made elsewhere."""

    def __init__(self, nodes: list[NodeRecord], store: SqliteTaskStore) -> None:
        super().__init__(nodes, store)
        self._waiting = view_of(store).view.waiting(10_000)
        self.stale_ids: list[str] = []

    def waiting(self, limit: int, classes: Collection[str] | None = None) -> list[dict]:
        return [task for task in self._waiting if classes is None or task.get("className") in classes][:limit]

    def stale(self, task_ids: list[str]) -> None:
        self.stale_ids += task_ids


def test_a_task_changed_after_the_view_read_it_is_skipped_and_reported_stale(tmp_path: Path):
    store = SqliteTaskStore(SqliteDatabase(tmp_path / "skalds.db"))
    inbox = DispatchInbox()
    for index in range(3):
        store.insert({"id": f"t{index}", "className": "A", "mode": "Passive", "lifecycleStatus": "Created",
                      "priority": 0, "createDateTime": index, "attempt": 0})
    view = Snapshot([NodeRecord(id="n", online=True, supported_tasks=["A"])], store)
    store.update("t1", {"lifecycleStatus": "Cancelled"})
    dispatcher = Dispatcher(TaskService(store, None, listener=inbox), view, inbox, ControllerMetrics(),
                            strategy="LEAST_TASKS", default_capacity=0, retry_backoff_seconds=1.0)
    assert dispatcher.dispatch_once() == 2
    assert view.stale_ids == ["t1"] and store.get("t1")["lifecycleStatus"] == "Cancelled"
    assert [store.get(task_id)["attempt"] for task_id in ("t0", "t2")] == [1, 1]

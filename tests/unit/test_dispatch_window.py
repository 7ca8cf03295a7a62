"""The dispatcher's pass looks further than one batch, so a flood of one high-priority class that has no
room left does not hide the waiting tasks of a class other nodes can take (embedded store, no processes)."""

from pathlib import Path

import pytest

from skalds.system_controller.dispatcher import Dispatcher
from skalds.system_controller.listeners import DispatchInbox
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.task_service import TaskService
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore

pytestmark = pytest.mark.unit


class View:
    def __init__(self, nodes: list[NodeRecord]) -> None:
        self._nodes = {node.id: node for node in nodes}

    def nodes(self) -> dict[str, NodeRecord]:
        return self._nodes

    def active_tasks(self) -> dict[str, dict]:
        return {}


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
    dispatcher = Dispatcher(service, View(nodes), inbox, ControllerMetrics(), strategy="LEAST_TASKS",
                            default_capacity=0, retry_backoff_seconds=1.0, batch=500)
    assert dispatcher.dispatch_once() == 5
    assert [store.get(f"b-{index}")["executor"] for index in range(3)] == ["n-b"] * 3
    assert [store.get(f"a-{index:03d}").get("executor") for index in range(3)] == ["n-a", "n-a", None]

"""The controller's wiring and the dispatcher's pass, on the embedded store in a tmp dir (no processes)."""

from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from skalds.config.system_controller_config import SystemControllerConfig
from skalds.system_controller.dispatcher import Dispatcher
from skalds.system_controller.listeners import NO_DISPATCH, DispatchInbox
from skalds.system_controller.main import SystemController
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.task_service import TaskService
from skalds.transport.ports import TaskStore
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore
from support.live_views import view_of

pytestmark = pytest.mark.unit


class View:
    """A fixed cluster in place of the monitor; its tasks are a live view read from the store at each look
    (as if the change feed had caught up)."""

    def __init__(self, nodes: list[NodeRecord], live: dict[str, dict[str, Any]] | None = None) -> None:
        self._nodes = {node.id: node for node in nodes}
        self.live = live or {}
        self.store: TaskStore | None = None

    def nodes(self) -> dict[str, NodeRecord]:
        return self._nodes

    def active_tasks(self) -> dict[str, dict[str, Any]]:
        return self.live

    def waiting(self, limit: int, classes: Collection[str] | None = None) -> list[dict[str, Any]]:
        assert self.store is not None
        return view_of(self.store).view.waiting(limit, classes)

    def failed_with_retries(self, limit: int) -> list[dict[str, Any]]:
        assert self.store is not None
        return view_of(self.store).view.failed_with_retries()[:limit]

    def stale(self, task_ids: list[str]) -> None:
        pass  # read afresh at each look


def worker(node_id: str, capacity: int = 0) -> NodeRecord:
    return NodeRecord(id=node_id, online=True, supported_tasks=["Work"], capacity=capacity)


@pytest.fixture
def service(tmp_path: Path) -> TaskService:
    return TaskService(SqliteTaskStore(SqliteDatabase(tmp_path / "skalds.db")), None, listener=DispatchInbox())


def dispatcher_for(service: TaskService, view: View, strategy: str = "LEAST_TASKS", capacity: int = 0) -> Dispatcher:
    assert isinstance(service.listener, DispatchInbox)
    view.store = service.store
    return Dispatcher(service, view, service.listener, ControllerMetrics(), strategy=strategy,
                      default_capacity=capacity, retry_backoff_seconds=5.0)


def executors(service: TaskService, ids: list[str]) -> list[str | None]:
    return [service.get(task_id).get("executor") for task_id in ids]


def test_a_created_task_wakes_the_dispatcher(service: TaskService):
    inbox = service.listener
    assert isinstance(inbox, DispatchInbox)
    inbox.maybe_waiting = False
    service.create(task_id="t1", class_name="Work", attachments={})
    assert inbox.wakeup.is_set() and inbox.maybe_waiting


def test_capacity_freed_wakes_only_when_tasks_were_left_waiting():
    inbox = DispatchInbox()
    inbox.maybe_waiting = False
    inbox.capacity_freed()
    assert not inbox.wakeup.is_set()
    inbox.maybe_waiting = True
    inbox.capacity_freed()
    assert inbox.wakeup.is_set()


def test_a_failure_asks_the_next_pass_for_a_retry_scan_once():
    inbox = DispatchInbox()
    inbox.task_failed()
    assert inbox.wakeup.is_set()
    assert inbox.take_retry_scan_request() and not inbox.take_retry_scan_request()


def test_least_tasks_spreads_within_capacity(service: TaskService):
    ids = [f"t{i}" for i in range(5)]
    for task_id in ids:
        service.create(task_id=task_id, class_name="Work", attachments={})
    dispatcher = dispatcher_for(service, View([worker("a", capacity=1), worker("b")]), capacity=2)
    assert dispatcher.dispatch_once() == 3  # a holds 1, b the default 2; two tasks keep waiting
    assert sorted(executors(service, ids), key=lambda node: node or "~") == ["a", "b", "b", None, None]
    assert dispatcher.dispatch_once() == 0


def test_ended_tasks_stop_counting_on_their_node(service: TaskService):
    service.create(task_id="t1", class_name="Work", attachments={})
    dispatcher = dispatcher_for(service, View([worker("a")]), capacity=1)
    assert dispatcher.dispatch_once() == 1
    service.create(task_id="t2", class_name="Work", attachments={})
    assert dispatcher.dispatch_once() == 0  # t1 still counts on a (assigned lately)
    dispatcher.inbox.tasks_ended({"t1"})
    assert dispatcher.dispatch_once() == 1


def test_round_robin_rotates_over_nodes(service: TaskService):
    ids = [f"t{i}" for i in range(4)]
    for task_id in ids:
        service.create(task_id=task_id, class_name="Work", attachments={})
    dispatcher = dispatcher_for(service, View([worker("b"), worker("a")]), strategy="round_robin")
    assert dispatcher.dispatch_once() == 4
    assert sorted(executors(service, ids)) == ["a", "a", "b", "b"]


def controller(tmp_path: Path, mode: str) -> SystemController:
    return SystemController(SystemControllerConfig(skalds_backend="embedded", system_controller_mode=mode,
                                                   skalds_embedded_path=str(tmp_path / "skalds.db"),
                                                   monitor_skald_interval=0.5, monitor_task_interval=2.0))


def test_dispatcher_mode_wires_one_inbox_to_service_monitor_and_dispatcher(tmp_path: Path):
    context = controller(tmp_path, "DISPATCHER").build()
    assert context.dispatcher is not None and context.monitor is not None and context.lease is not None
    inbox = context.dispatcher.inbox
    assert context.service.listener is inbox and context.monitor.listener is inbox
    assert context.dispatcher.view is context.monitor
    assert (context.monitor.cadence.node_interval, context.monitor.cadence.task_interval) == (0.5, 2.0)


@pytest.mark.parametrize("mode, leads", [("CONTROLLER", False), ("MONITOR", True)])
def test_modes_without_a_dispatcher_tell_nobody(tmp_path: Path, mode: str, leads: bool):
    context = controller(tmp_path, mode).build()
    assert context.dispatcher is None and context.monitor is not None
    assert (context.lease is not None) is leads
    assert context.service.listener is NO_DISPATCH and context.monitor.listener is NO_DISPATCH

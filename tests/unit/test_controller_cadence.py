"""MONITOR_SKALD_INTERVAL and MONITOR_TASK_INTERVAL: each part of the monitor runs on its own interval."""

from pathlib import Path

import pytest

from skalds.system_controller.hub import EventHub
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.monitor import Monitor
from skalds.system_controller.policy.cadence import Cadence
from skalds.system_controller.policy.verdicts import LostLimits
from skalds.system_controller.task_service import TaskService
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_state import SqliteLiveState
from skalds.transport.sqlite_tasks import SqliteTaskStore
from support.live_views import view_of

pytestmark = pytest.mark.unit


def ticks(cadence: Cadence, times: list[float]) -> tuple[list[float], list[float]]:
    nodes, tasks = [], []
    for now in times:
        node_due, task_due = cadence.due(now)
        if node_due:
            nodes.append(now)
        if task_due:
            tasks.append(now)
    return nodes, tasks


def test_the_loop_ticks_at_the_shorter_interval():
    assert Cadence(node_interval=0.5, task_interval=2.0).period == 0.5
    assert Cadence(node_interval=3.0, task_interval=1.0).period == 1.0


def test_each_part_runs_when_due():
    nodes, tasks = ticks(Cadence(node_interval=0.5, task_interval=2.0), [i * 0.5 for i in range(9)])
    assert nodes == [i * 0.5 for i in range(9)]
    assert tasks == [0.0, 2.0, 4.0]


def test_equal_intervals_do_both_every_tick():
    times = [0.0, 1.01, 2.03, 3.02]
    assert ticks(Cadence(1.0, 1.0), times) == (times, times)


def test_the_schedule_keeps_its_phase_and_skips_what_it_missed():
    _nodes, tasks = ticks(Cadence(node_interval=1.0, task_interval=2.5), [float(i) for i in range(11)])
    assert tasks == [0.0, 3.0, 5.0, 8.0, 10.0]  # 2.5 s apart on average on a 1 s tick
    _nodes, tasks = ticks(Cadence(node_interval=1.0, task_interval=1.0), [0.0, 10.0, 10.5, 11.0])
    assert tasks == [0.0, 10.0, 11.0]  # a stalled loop does not catch up with a burst


def test_monitor_checks_nodes_and_tasks_on_their_own_intervals(tmp_path: Path):
    database = SqliteDatabase(tmp_path / "skalds.db")
    store = SqliteTaskStore(database)
    rereader = view_of(store)
    monitor = Monitor(TaskService(store, None), SqliteLiveState(database), EventHub(), ControllerMetrics(),
                      view=rereader.view, refresher=rereader,
                      limits=LostLimits(heartbeat_timeout=6.0, assign_timeout=15.0),
                      cadence=Cadence(node_interval=0.5, task_interval=2.0))
    calls = {"nodes": 0, "tasks": 0}
    refresh_nodes, refresh_tasks = monitor.registry.refresh, monitor._refresh_tasks

    def count_nodes():
        calls["nodes"] += 1
        return refresh_nodes()

    def count_tasks(leader: bool) -> None:
        calls["tasks"] += 1
        refresh_tasks(leader)

    monitor.registry.refresh = count_nodes
    monitor._refresh_tasks = count_tasks
    for i in range(9):  # 4 seconds of 0.5 s ticks
        monitor.cycle(leader=True, now=100.0 + i * 0.5)
    assert calls == {"nodes": 9, "tasks": 3}

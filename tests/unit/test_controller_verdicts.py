"""The monitor's lost/offline verdicts over plain documents, node records and heartbeats."""

import pytest

from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.policy.verdicts import LostLimits, TaskBeat, lost_reason

pytestmark = pytest.mark.unit

LIMITS = LostLimits(heartbeat_timeout=6.0, assign_timeout=15.0)
NOW = 1000.0  # controller monotonic clock
WALL_MS = 1_700_000_000_000


def task(status: str = "Running", *, mode: str = "Passive", executor: str | None = "n1",
         assigned_ms: int | None = None) -> dict:
    return {"id": "t1", "mode": mode, "lifecycleStatus": status, "executor": executor,
            "assignedDateTime": assigned_ms if assigned_ms is not None else WALL_MS, "updateDateTime": WALL_MS}


ONLINE = NodeRecord(id="n1", online=True)
OFFLINE = NodeRecord(id="n1", online=False)


def beat(stamp: str | None = "s", silent_for: float = 0.0) -> TaskBeat:
    return TaskBeat(heartbeat=200, stamp=stamp, seen_change_at=NOW - silent_for)


def test_offline_node_but_heartbeat_still_changing_waits():
    assert lost_reason(task(), OFFLINE, beat(silent_for=2.0), NOW, WALL_MS, LIMITS) is None
    assert lost_reason(task(), None, beat(silent_for=6.0), NOW, WALL_MS, LIMITS) is None


def test_offline_node_loses_the_task():
    assert lost_reason(task(), OFFLINE, beat(silent_for=7.0), NOW, WALL_MS, LIMITS) == "node n1 is offline"
    assert lost_reason(task(), None, beat(stamp=None), NOW, WALL_MS, LIMITS) == "node n1 is offline"
    assert lost_reason(task("Assigning"), OFFLINE, beat(stamp=None), NOW, WALL_MS, LIMITS) == "node n1 is offline"


def test_running_without_heartbeat_change_past_timeout_is_lost():
    assert lost_reason(task(), ONLINE, beat(silent_for=6.0), NOW, WALL_MS, LIMITS) is None
    assert lost_reason(task(), ONLINE, beat(silent_for=9.4), NOW, WALL_MS, LIMITS) == "no heartbeat for 9s"


def test_paused_task_on_an_online_node_is_not_lost_for_silence():
    assert lost_reason(task("Paused"), ONLINE, beat(silent_for=600.0), NOW, WALL_MS, LIMITS) is None


def test_assigning_not_started_within_assign_timeout_is_lost():
    waited = task("Assigning", assigned_ms=WALL_MS - 16_000)
    assert lost_reason(waited, ONLINE, beat(stamp=None), NOW, WALL_MS, LIMITS) == \
        "node n1 did not start it within 15s"
    fresh = task("Assigning", assigned_ms=WALL_MS - 14_000)
    assert lost_reason(fresh, ONLINE, beat(stamp=None), NOW, WALL_MS, LIMITS) is None
    started = task("Assigning", assigned_ms=WALL_MS - 16_000)  # a heartbeat stamp: the node started it
    assert lost_reason(started, ONLINE, beat(stamp="s"), NOW, WALL_MS, LIMITS) is None


def test_assign_time_falls_back_to_update_time():
    document = task("Assigning")
    document["assignedDateTime"] = None
    document["updateDateTime"] = WALL_MS - 20_000
    assert lost_reason(document, ONLINE, beat(stamp=None), NOW, WALL_MS, LIMITS) is not None


def test_edge_tasks_are_never_lost():
    for status in ("Running", "Assigning"):
        document = task(status, mode="Active", assigned_ms=0)
        assert lost_reason(document, OFFLINE, beat(stamp=None, silent_for=600), NOW, WALL_MS, LIMITS) is None


def test_task_without_executor_is_not_lost():
    assert lost_reason(task(executor=None), None, beat(stamp=None, silent_for=600), NOW, WALL_MS, LIMITS) is None


def test_a_silent_nodes_tasks_wait_for_its_fence_time_plus_the_margin():
    slow_fence = NodeRecord(id="n1", online=False, fence_seconds=9.0, seen_change_at=NOW - 10.0)
    assert lost_reason(task(), slow_fence, beat(stamp=None), NOW, WALL_MS, LIMITS) is None  # 10 s < 9 + 2
    gone = NodeRecord(id="n1", online=False, fence_seconds=9.0, seen_change_at=NOW - 11.5)
    assert lost_reason(task(), gone, beat(stamp=None), NOW, WALL_MS, LIMITS) == "node n1 is offline"
    running = NodeRecord(id="n1", online=True, fence_seconds=9.0, seen_change_at=NOW)
    assert lost_reason(task(), running, beat(silent_for=10.0), NOW, WALL_MS, LIMITS) is None
    assert "no heartbeat" in lost_reason(task(), running, beat(silent_for=11.5), NOW, WALL_MS, LIMITS)


def test_a_node_without_a_fence_time_is_judged_by_the_timeout_alone():
    assert LIMITS.silence_allowed(NodeRecord(id="n1")) == 6.0
    assert LIMITS.silence_allowed(NodeRecord(id="n1", fence_seconds=4.0)) == 6.0
    assert LIMITS.silence_allowed(None) == 6.0

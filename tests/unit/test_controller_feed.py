"""What a history entry means for the dispatcher (the monitor tells its listener)."""

import pytest

from skalds.system_controller.policy.feed import Signal, ended_tasks, signal_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("entry, signal", [
    ({"type": "created"}, Signal.WORK_WAITING),
    ({"type": "status", "status": "Created"}, Signal.WORK_WAITING),
    ({"type": "lost", "status": "Created"}, Signal.WORK_WAITING),
    ({"type": "released"}, Signal.WORK_WAITING),
    ({"type": "retry"}, Signal.WORK_WAITING),
    ({"type": "status", "status": "Failed"}, Signal.TASK_FAILED),
    ({"type": "status", "status": "Finished"}, Signal.CAPACITY_FREED),
    ({"type": "status", "status": "Cancelled"}, Signal.CAPACITY_FREED),
    ({"type": "status", "status": "Paused"}, Signal.CAPACITY_FREED),
    ({"type": "status", "status": "Running"}, None),
    ({"type": "assigned", "status": "Assigning"}, None),
])
def test_signal_of_an_entry(entry: dict, signal: Signal | None):
    assert signal_of(entry) is signal


def test_ended_tasks_hold_no_node():
    entries = [{"taskId": "fin", "type": "status", "status": "Finished"},
               {"taskId": "back", "type": "status", "status": "Created"},
               {"taskId": "lost", "type": "lost"}, {"taskId": "rel", "type": "released"},
               {"taskId": "run", "type": "status", "status": "Running"},
               {"taskId": "paused", "type": "status", "status": "Paused"}]
    assert ended_tasks(entries) == {"fin", "back", "lost", "rel"}

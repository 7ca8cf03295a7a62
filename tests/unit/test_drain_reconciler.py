"""The leader's drain reconciler on the embedded family: what it asks nodes (real `task.release` events), how a
new leader goes on with a stored drain, and how an uncordon stops it."""

import time

import pytest

from skalds.model.event import TaskEvent
from skalds.system_controller.drain import DrainReconciler
from skalds.system_controller.drain_desk import DrainDesk
from skalds.transport.node_desires import SqliteNodeDesires
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventConsumer, SqliteEventPublisher
from skalds.transport.wire_names import KafkaTopic

pytestmark = pytest.mark.unit


def held(node, count, attempt=1):
    return {f"t{i}": {"id": f"t{i}", "executor": node, "mode": "Passive", "attempt": attempt,
                      "lifecycleStatus": "Running"} for i in range(count)}


def asked(consumer):
    """The release events published since the last call: (task id, recipient, attempt, title)."""
    found = []
    while (event := consumer.poll(0.05)) is not None:
        parsed = TaskEvent.model_validate_json(event.value)
        found.append((parsed.task_ids[0], parsed.recipient, parsed.attempt, parsed.title))
        consumer.commit(event)
    return found


@pytest.fixture
def world(tmp_path):
    database = SqliteDatabase(tmp_path / "e.db")
    consumer = SqliteEventConsumer(database, "test", [KafkaTopic.TASK_RELEASE])
    return database, consumer


def test_releases_go_out_parallelism_at_a_time_and_a_new_leader_goes_on(world):
    database, consumer = world
    tasks = held("n1", 5)
    desk = DrainDesk(SqliteNodeDesires(database), refresh_seconds=0)
    desk.drain("n1", 600, 2)
    first = DrainReconciler(desk, lambda: dict(tasks), SqliteEventPublisher(database))
    first.step(leader=True)
    assert asked(consumer) == [("t0", "n1", 1, KafkaTopic.RELEASE), ("t1", "n1", 1, KafkaTopic.RELEASE)]
    first.step(leader=True)
    assert asked(consumer) == []  # still under way: nothing more, nothing repeated yet
    del tasks["t0"]  # released and moved
    first.step(leader=True)
    assert asked(consumer) == [("t2", "n1", 1, KafkaTopic.RELEASE)]
    # The leader dies: a new one (another desk, same stored wish) asks again for what is not done yet.
    second = DrainReconciler(DrainDesk(SqliteNodeDesires(database), refresh_seconds=0), lambda: dict(tasks),
                             SqliteEventPublisher(database))
    second.step(leader=False)
    assert asked(consumer) == []  # a standby sends nothing
    second.step(leader=True)
    assert [task for task, *_ in asked(consumer)] == ["t1", "t2"]
    tasks.clear()
    second.step(leader=True)
    assert desk.states()["n1"]["state"] == "drained"


def test_past_the_deadline_what_is_left_is_released_at_once(world):
    database, consumer = world
    desk = DrainDesk(SqliteNodeDesires(database), refresh_seconds=0)
    desk.drain("n1", 0.001, 1)
    time.sleep(0.01)
    DrainReconciler(desk, lambda: held("n1", 3), SqliteEventPublisher(database)).step(leader=True)
    forced = {(f"t{i}", KafkaTopic.RELEASE_NOW) for i in range(3)}
    assert {(task, title) for task, _, _, title in asked(consumer)} == forced


def test_an_uncordon_stops_the_drain_where_it_stands(world):
    database, consumer = world
    desk = DrainDesk(SqliteNodeDesires(database), refresh_seconds=0)
    desk.drain("n1", 600, 1)
    reconciler = DrainReconciler(desk, lambda: held("n1", 3), SqliteEventPublisher(database))
    reconciler.step(leader=True)
    assert len(asked(consumer)) == 1
    desk.uncordon("n1")
    reconciler.step(leader=True)
    assert asked(consumer) == [] and desk.states() == {}

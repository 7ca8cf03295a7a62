"""The drain's plan (which tasks to release now) and the stored wishes behind it, without processes."""

from skalds.system_controller.drain_desk import DrainDesk
from skalds.system_controller.policy import placement
from skalds.system_controller.policy.drain_plan import RESEND_SECONDS, Sent, held_by, plan
from skalds.transport.node_desires import SqliteNodeDesires
from skalds.transport.node_registry import NodeRecord
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_state import SqliteLiveState
from skalds.transport.wire_names import RedisKey


def test_only_parallelism_releases_are_under_way_at_once():
    held = {"a": 1, "b": 1, "c": 1, "d": 1}
    first = plan(held, {}, parallelism=2, past_deadline=False, now=100.0)
    assert first.release == [("a", 1), ("b", 1)] and not first.force and not first.done
    sent = {"a": Sent(1, 100.0), "b": Sent(1, 100.0)}
    assert plan(held, sent, parallelism=2, past_deadline=False, now=101.0).release == []
    # "a" was released (it no longer holds the node): "c" takes its turn
    after = plan({"b": 1, "c": 1, "d": 1}, {"b": Sent(1, 100.0)}, parallelism=2, past_deadline=False, now=101.0)
    assert after.release == [("c", 1)]


def test_an_unanswered_release_is_sent_again_and_a_newer_attempt_is_a_new_task():
    held = {"a": 1}
    assert plan(held, {"a": Sent(1, 0.0)}, parallelism=1, past_deadline=False, now=RESEND_SECONDS).release == [("a", 1)]
    assert plan({"a": 2}, {"a": Sent(1, 0.0)}, parallelism=1, past_deadline=False, now=1.0).release == [("a", 2)]


def test_past_the_deadline_everything_left_is_forced_once_per_resend_period():
    held = {"a": 1, "b": 1, "c": 1}
    step = plan(held, {"a": Sent(1, 9.0)}, parallelism=1, past_deadline=True, now=10.0)
    assert step.force == [("a", 1), ("b", 1), ("c", 1)] and not step.release
    again = plan(held, {task: Sent(1, 10.0, forced=True) for task in held}, parallelism=1, past_deadline=True,
                 now=11.0)
    assert again.force == []


def test_a_node_holding_nothing_is_drained_and_edge_tasks_are_not_its_to_move():
    active = {"p": {"executor": "n1", "mode": "Passive", "attempt": 3}, "e": {"executor": "n1", "mode": "Active"},
              "o": {"executor": "n2", "mode": "Passive", "attempt": 1}}
    assert held_by("n1", active) == {"p": 3}
    assert plan({}, {}, parallelism=1, past_deadline=False, now=0.0).done


def test_cordoned_and_self_draining_nodes_get_no_placement():
    nodes = [NodeRecord(id="a", online=True), NodeRecord(id="b", online=True),
             NodeRecord(id="c", online=True, draining=True)]
    assert [node.id for node in placement.eligible_nodes(nodes, {"a"})] == ["b"]


def test_wishes_are_stored_and_outlive_the_desk(tmp_path):
    database = SqliteDatabase(tmp_path / "s.db")
    desk = DrainDesk(SqliteNodeDesires(database), refresh_seconds=0)
    assert desk.cordon("n1")["state"] == "cordoned"
    drained = desk.drain("n2", 30, 2)
    assert drained["state"] == "draining" and drained["deadlineAt"] - drained["requestedAt"] == 30_000
    assert desk.cordon("n2")["state"] == "draining"  # a cordon does not stop a drain
    other = DrainDesk(SqliteNodeDesires(SqliteDatabase(tmp_path / "s.db")), refresh_seconds=0)
    assert {node: wish["state"] for node, wish in other.states().items()} == {"n1": "cordoned", "n2": "draining"}
    assert other.uncordon("n1") and not other.uncordon("n1")
    assert desk.unschedulable() == {"n2"}


def test_a_controller_reads_the_stored_wishes_only_when_stamped_or_at_its_audit(tmp_path):
    database = SqliteDatabase(tmp_path / "s.db")
    live = SqliteLiveState(database)
    writer = DrainDesk(SqliteNodeDesires(database), live, refresh_seconds=0)
    reader = DrainDesk(SqliteNodeDesires(SqliteDatabase(tmp_path / "s.db")), live, refresh_seconds=0)
    assert reader.states() == {} and reader.reads == 1  # the first look reads the store
    for _ in range(50):
        reader.states()
    assert reader.reads == 1  # idle: the stamp only, never the store
    writer.cordon("n1")
    assert set(reader.states()) == {"n1"} and reader.reads == 2
    live.write(lambda batch: batch.delete(RedisKey.NODE_WISHES))  # the live state came back empty: a change too
    assert set(reader.states()) == {"n1"} and reader.reads == 3
    writer.desires.put("n2", {"state": "cordoned"})  # a wish stored while Redis was away: no stamp
    assert set(reader.states()) == {"n1"} and reader.reads == 3
    reader.audit_seconds = 0  # its audit is due
    assert set(reader.states()) == {"n1", "n2"} and reader.reads == 4

"""The change feed's wire format and the live view's bookkeeping, on plain data and the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skalds.system_controller.live_view import LiveView
from skalds.system_controller.task_service import TaskService
from skalds.tasks import change_feed, live_reads, queries
from skalds.tasks.feeding_store import FeedingStore
from skalds.tasks.queries import TaskFilter
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventConsumer, SqliteEventPublisher
from skalds.transport.sqlite_state import SqliteLiveState
from skalds.transport.sqlite_tasks import SqliteTaskStore
from skalds.transport.wire_names import RedisKey

pytestmark = pytest.mark.unit


def doc(task_id: str, status: str, **fields) -> dict:
    """A task document last changed at 2,000 ms (after the counters below, read at 1,000 ms)."""
    return {"id": task_id, "lifecycleStatus": status, "mode": "Passive", "className": "Work",
            "updateDateTime": 2000, **fields}


# --- wire format ---------------------------------------------------------------------------------------
def test_a_large_batch_becomes_bounded_messages_with_long_texts_cut():
    entries = [{"taskId": f"t{i}", "ts": i, "type": "status", "status": "Failed", "error": "x" * 10_000}
               for i in range(450)]
    deleted = {f"d{i}": {"lifecycleStatus": "Finished"} for i in range(1500)}
    messages = list(change_feed.encode("node-1", entries, deleted))
    batches = [change_feed.decode(message) for message in messages]
    assert all(batch is not None for batch in batches)
    assert [len(batch.entries) for batch in batches] == [200, 200, 50, 0, 0]
    assert [len(batch.deleted) for batch in batches] == [0, 0, 0, 1000, 500]
    assert {len(entry["error"]) for batch in batches for entry in batch.entries} == {change_feed.MAX_TEXT}
    assert max(len(message) for message in messages) < change_feed.MAX_MESSAGE_BYTES


@pytest.mark.parametrize("value", [None, b"", b"[]", b"not json", b'{"v": 2, "entries": []}',
                                   b'{"v": 1, "entries": "x"}', b'{"v": 1, "entries": [{"taskId": 5}]}',
                                   b'{"v": 1, "entries": [], "deleted": {"t": 1}}',
                                   b'{"v": 1, "entries": [], "deleted": {"t": {"lifecycleStatus": 5}}}',
                                   b'{"v": 1, "entries": [], "deleted": {"t": {"other": "x"}}}',
                                   json.dumps({"v": 1, "entries": [{"taskId": "t"}] * 201}).encode(),
                                   b'{"v": 1, "entries": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'])
def test_a_reader_refuses_what_is_not_a_change_batch(value):
    assert change_feed.decode(value) is None


# --- the view ----------------------------------------------------------------------------------------
def built(documents: list[dict], ended: dict[str, int], **totals: dict[str, int]) -> LiveView:
    """A view read at 1,000 ms: `ended` and `totals` count the tasks that were over then."""
    view = LiveView()
    view.rebuild(documents, {"lifecycleStatus": ended, **totals}, counted_at=1000)
    return view


def test_the_view_holds_what_is_not_over_and_counts_the_rest():
    view = built([doc("a", "Running", executor="n1"), doc("b", "Created"),
                  doc("f", "Failed", retryCount=0, maxRetries=2)], {"Failed": 3, "Finished": 10})
    assert sorted(task["id"] for task in view.tasks()) == ["a", "b", "f"]
    assert view.counts()["Failed"] == 3 and view.counts()["Finished"] == 10
    assert [task["id"] for task in view.waiting(10)] == ["b"] and list(view.active()) == ["a"]
    assert [task["id"] for task in view.failed_with_retries()] == ["f"]


def test_transitions_move_tasks_between_the_map_and_the_counters():
    view = built([doc("a", "Running", executor="n1")], {"Cancelled": 2})
    view.apply({"a": doc("a", "Finished"), "n": doc("n", "Created")},
               [{"taskId": "a", "type": "status", "status": "Finished"}, {"taskId": "n", "type": "created"}], {})
    assert view.counts()["Finished"] == 1 and view.counts()["Running"] == 0 and view.counts()["Created"] == 1
    # a user's retry of a Cancelled task: its entry says where it came from
    view.apply({"c": doc("c", "Created")}, [{"taskId": "c", "type": "status", "status": "Created",
                                             "from": "Cancelled", "fromExecutor": None}], {})
    assert view.counts()["Cancelled"] == 1 and view.counts()["Created"] == 2 and not view.counts_stale
    view.apply({"a": None}, [], {"a": {"lifecycleStatus": "Finished"}})  # retention removed it
    assert view.counts()["Finished"] == 0


def test_a_task_this_controller_created_is_counted_at_once_and_once():
    """Its creator's next list counts it (the feed's message comes later); the message then moves nothing, and a
    later version the feed brought first is never replaced by the created one."""
    view = built([], {"Finished": 1})
    view.created(doc("n", "Created"))
    assert view.total(TaskFilter()) == 2 and [task["id"] for task in view.waiting(10)] == ["n"]
    view.apply({"n": doc("n", "Created")}, [{"taskId": "n", "type": "created"}], {})
    assert view.total(TaskFilter()) == 2 and view.counts()["Created"] == 1 and not view.counts_stale
    view.apply({"m": doc("m", "Running", executor="n1", updateDateTime=3000)},
               [{"taskId": "m", "type": "created"}, {"taskId": "m", "type": "status", "status": "Running"}], {})
    view.created(doc("m", "Created"))
    assert view.status_of("m") == "Running" and view.total(TaskFilter()) == 3


def test_a_task_from_nowhere_marks_the_counts_stale_until_the_view_is_read_again():
    view = built([], {"Finished": 5})
    view.apply({"x": doc("x", "Running", executor="n1")}, [{"taskId": "x", "type": "status", "status": "Running"}],
               {})
    assert view.counts_stale
    view.rebuild([doc("x", "Running", executor="n1")], {"lifecycleStatus": {"Finished": 4}}, counted_at=3000)
    assert not view.counts_stale and view.counts()["Finished"] == 4 and view.counts()["Running"] == 1


def test_a_change_the_counters_were_read_after_is_not_counted_twice():
    view = built([], {"Finished": 1})  # task z ended at 500 ms, before the counters were read
    view.apply({"z": doc("z", "Finished", updateDateTime=500)},
               [{"taskId": "z", "type": "status", "status": "Finished"}], {})
    assert view.counts()["Finished"] == 1
    view.apply({"y": doc("y", "Finished", updateDateTime=1500)},  # y ended after: news to the counters
               [{"taskId": "y", "type": "status", "status": "Finished"}], {})
    assert view.counts()["Finished"] == 2 and not view.counts_stale


def test_an_end_named_by_two_messages_or_delivered_twice_is_counted_once():
    view = built([doc("a", "Running", executor="n1")], {})
    failed = doc("a", "Failed", executor="n1", updateDateTime=2500)
    running = [{"taskId": "a", "type": "status", "status": "Running"}]
    view.apply({"a": failed}, running, {})  # the Running entry's message: re-read, the task has failed since
    view.apply({"a": failed}, [{"taskId": "a", "type": "status", "status": "Failed"}], {})  # the Failed entry's
    view.apply({"a": failed}, [{"taskId": "a", "type": "status", "status": "Failed"}], {})  # redelivered
    assert view.counts()["Failed"] == 1 and view.total(TaskFilter()) == 1
    retried = doc("a", "Created", updateDateTime=3000)
    back = [{"taskId": "a", "type": "status", "status": "Created", "from": "Failed", "fromExecutor": "n1"}]
    view.apply({"a": retried}, back, {})
    view.apply({"a": retried}, back, {})  # the retry's message twice: it leaves the counters once
    assert view.counts()["Failed"] == 0 and view.counts()["Created"] == 1 and view.total(TaskFilter()) == 1
    view.apply({"a": doc("a", "Failed", updateDateTime=4000)}, [{"taskId": "a", "type": "status",
                                                                  "status": "Failed"}], {})
    assert view.counts()["Failed"] == 1  # a later end of the same task is news again
    quick = doc("q", "Finished", updateDateTime=5000)  # created and over before its first message was read
    view.apply({"q": quick}, [{"taskId": "q", "type": "created"}], {})
    view.apply({"q": quick}, [{"taskId": "q", "type": "status", "status": "Finished"}], {})
    assert view.counts()["Finished"] == 1


def test_totals_by_status_class_or_node_come_from_the_map_and_the_counters():
    view = built([doc("a", "Running", executor="n1"), doc("b", "Created", className="Other")],
                 {"Finished": 7}, className={"Work": 7}, executor={"n1": 4})
    assert view.total(TaskFilter()) == 9 and view.total(TaskFilter(lifecycle_status="Finished")) == 7
    assert view.total(TaskFilter(class_name="Work")) == 8 and view.total(TaskFilter(executor="n1")) == 5
    assert view.total(TaskFilter(lifecycle_status="Running", executor="n1")) == 1  # the map holds every Running
    assert view.total(TaskFilter(lifecycle_status="Finished", class_name="Work")) is None  # ask the store
    view.apply({"a": doc("a", "Finished", executor="n1")},
               [{"taskId": "a", "type": "status", "status": "Finished"}], {})
    assert view.total(TaskFilter(executor="n1")) == 5 and view.total(TaskFilter(lifecycle_status="Finished")) == 8
    view.apply({"a": None}, [], {"a": {"lifecycleStatus": "Finished", "className": "Work", "executor": "n1"}})
    assert view.total(TaskFilter(lifecycle_status="Finished")) == 7 and view.total(TaskFilter(executor="n1")) == 4


def test_counts_before_the_first_read_are_refused():
    with pytest.raises(Exception, match="starting state"):
        LiveView().checked_counts()


# --- writers publish what they store -------------------------------------------------------------------
def test_every_transition_reaches_the_feed_and_the_view_follows_it(tmp_path: Path):
    database = SqliteDatabase(tmp_path / "skalds.db")
    consumer = SqliteEventConsumer(SqliteDatabase(tmp_path / "skalds.db"), "reader", ["changes"])
    store = FeedingStore(SqliteTaskStore(database), SqliteEventPublisher(database), "changes", "controller-1")
    service = TaskService(store, None)
    view = built([], {})
    for task_id in ("a", "b"):
        service.create(task_id=task_id, class_name="Work", attachments={})
    service.assign(service.get("a"), "n1")
    service.cancel("b")
    entries, deleted = [], {}
    while (event := consumer.poll(0.05)) is not None:
        batch = change_feed.decode(event.value)
        assert batch is not None and batch.writer == "controller-1"
        entries += batch.entries
        deleted.update(batch.deleted)
    assert [(entry["taskId"], entry["type"]) for entry in entries] == [
        ("a", "created"), ("b", "created"), ("a", "assigned"), ("b", "status")]
    ids = list(dict.fromkeys(entry["taskId"] for entry in entries))
    found = live_reads.view_documents(store, ids)
    view.apply({task_id: found.get(task_id) for task_id in ids}, entries, deleted)
    assert view.counts() == {**{status: 0 for status in view.counts()},
                             **{key: value for key, value in queries.counts_by_status(store).items() if value}}
    assert list(view.active()) == ["a"]
    service.delete("b")  # a deletion names what the task held, for the readers' counts
    batch = change_feed.decode(consumer.poll(0.5).value)
    assert batch is not None and batch.deleted == {"b": {"lifecycleStatus": "Cancelled", "className": "Work",
                                                         "executor": None}}
    view.apply({"b": None}, [], batch.deleted)
    assert view.counts()["Cancelled"] == 0 and view.total(TaskFilter(class_name="Work")) == 1


def test_a_writer_that_cannot_publish_stamps_the_gap_key(tmp_path: Path):
    from skalds.tasks.feeding_store import gap_marker
    from skalds.transport.kafka_events import KafkaEventPublisher, KafkaSettings

    database = SqliteDatabase(tmp_path / "skalds.db")
    live = SqliteLiveState(database)
    # a real Kafka client with a one-message queue and no broker: the second offer finds the queue full
    publisher = KafkaEventPublisher(KafkaSettings(bootstrap_servers="127.0.0.1:1"),
                                    extra={"queue.buffering.max.messages": 1, "message.timeout.ms": 60000,
                                           "log_level": 0})
    store = FeedingStore(SqliteTaskStore(database), publisher, "changes", "node-1", on_gap=gap_marker(live))
    TaskService(store, None).create(task_id="a", class_name="Work", attachments={})
    assert live.get(RedisKey.FEED_GAP) is None
    TaskService(store, None).create(task_id="b", class_name="Work", attachments={})
    assert live.get(RedisKey.FEED_GAP) is not None and store.unpublished == 1
    assert store.get("b") is not None  # the write itself stood

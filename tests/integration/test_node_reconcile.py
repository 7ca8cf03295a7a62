"""A lost event only delays a change: the node reconciles the tasks it holds with the store every
`reconcile_period`; and events are bounded (too many ids rejected, a poison event dead-lettered).

A stored request whose Kafka event was lost looks, in the store, exactly like what these tests write
directly (a `desiredStatus`, a new `attachmentsVersion`, an executor and attempt): no event is sent.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from confluent_kafka import Consumer

from skalds.model.task import Task
from skalds.proxy.kafka import KafkaTopic
from skalds.tasks import lifecycle
from support.cluster import read_records, wait_for
from support.processes import alive, process_state
from support.workers import SleepModel

pytestmark = pytest.mark.integration

PERIOD = 2.0  # the reconcile period of these tests' nodes
LIMIT = 2 * PERIOD + 1.5  # the target (2 periods) plus what the worker and the status write take


def start_node(nodes):
    return nodes.start(RECONCILE_PERIOD=str(PERIOD))


def running(cluster, node, task_id: str, records: str, seconds: float = 120) -> int:
    cluster.create(task_id, "SleepWorker", SleepModel(seconds=seconds, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, task_id)
    cluster.wait_status(task_id, "Running")
    return next(r["pid"] for r in read_records(records) if r["event"] == "main")


def converged(what, description: str) -> float:
    """Seconds until `what()` holds (at most LIMIT)."""
    started = time.monotonic()
    wait_for(what, LIMIT, description)
    elapsed = time.monotonic() - started
    print(f"converged after {elapsed:.2f}s: {description}")
    return elapsed


def test_a_cancel_whose_event_was_lost_still_lands(nodes, cluster, tmp_path):
    node = start_node(nodes)
    records = str(tmp_path / "r.jsonl")
    running(cluster, node, "t-lost-cancel", records)
    cluster.desire("t-lost-cancel", "Cancelled")
    converged(lambda: cluster.status("t-lost-cancel") == "Cancelled", "the stored cancel")
    assert [r["event"] for r in read_records(records)][-1] == "release"
    node.wait_log("cancel found in the task store")


def test_a_pause_and_a_resume_whose_events_were_lost_still_land(nodes, cluster, tmp_path):
    node = start_node(nodes)
    pid = running(cluster, node, "t-lost-pause", str(tmp_path / "r.jsonl"))
    cluster.desire("t-lost-pause", "Paused")
    converged(lambda: cluster.status("t-lost-pause") == "Paused" and process_state(pid) == "T", "the stored pause")
    time.sleep(PERIOD * 1.5)  # later periods leave a paused copy paused
    assert cluster.status("t-lost-pause") == "Paused" and process_state(pid) == "T"
    cluster.desire("t-lost-pause", "Running")
    converged(lambda: cluster.status("t-lost-pause") == "Running" and process_state(pid) != "T", "the stored resume")


def test_an_attachments_update_whose_event_was_lost_is_delivered_once(nodes, cluster, tmp_path):
    node = start_node(nodes)
    records = str(tmp_path / "r.jsonl")
    running(cluster, node, "t-lost-update", records)
    lifecycle.update_attachments(cluster.store, "t-lost-update",
                                 SleepModel(seconds=120, record_to=records, label="v1").model_dump(by_alias=True))
    converged(lambda: any(r["event"] == "update_end" and r["label"] == "v1" for r in read_records(records)),
              "the stored attachments update")
    time.sleep(PERIOD * 1.5)
    assert sum(r["event"] == "update_start" for r in read_records(records)) == 1  # not again every period
    node.wait_log("attachments v1 sent to the worker")


def test_a_rejected_update_whose_event_was_lost_is_recorded_once(nodes, cluster, tmp_path):
    node = start_node(nodes)
    running(cluster, node, "t-lost-bad", str(tmp_path / "r.jsonl"))
    lifecycle.update_attachments(cluster.store, "t-lost-bad", {"seconds": "not a number"})
    converged(lambda: cluster.doc("t-lost-bad").get("rejectedAttachmentsVersion") == 1, "the rejected version")
    time.sleep(PERIOD * 1.5)
    assert node.log().count("update of task t-lost-bad rejected") == 1


def test_an_assign_whose_event_was_lost_still_starts(nodes, cluster, tmp_path):
    node = start_node(nodes)
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-lost-assign", "SleepWorker", SleepModel(seconds=120, record_to=records))
    cluster.repository.update_executor("t-lost-assign", node.skald_id)  # Assigning, attempt 1; no event
    converged(lambda: cluster.status("t-lost-assign") == "Running", "the assign without an event")
    time.sleep(PERIOD * 1.5)
    assert [r["event"] for r in read_records(records)].count("main") == 1
    node.wait_log("no event started it")


def test_an_assign_of_a_task_its_user_cancelled_starts_nothing_and_records_cancelled(nodes, cluster, tmp_path):
    node = start_node(nodes)
    records = str(tmp_path / "r.jsonl")
    for task_id in ("t-nostart-event", "t-nostart-lost"):
        cluster.create(task_id, "SleepWorker", SleepModel(seconds=120, record_to=records))
        cluster.desire(task_id, "Cancelled")
        cluster.repository.update_executor(task_id, node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-nostart-event")
    for task_id in ("t-nostart-event", "t-nostart-lost"):
        document = cluster.wait_status(task_id, "Cancelled", timeout=LIMIT)
        assert document["attempt"] == 1 and document["executor"] == node.skald_id
    assert read_records(records) == []


def test_an_assign_of_a_task_its_user_paused_starts_nothing(nodes, cluster, tmp_path):
    node = start_node(nodes)
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-nostart-paused", "SleepWorker", SleepModel(seconds=120, record_to=records))
    cluster.desire("t-nostart-paused", "Paused")
    cluster.repository.update_executor("t-nostart-paused", node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-nostart-paused")
    document = cluster.wait_status("t-nostart-paused", "Paused", timeout=LIMIT)
    assert document["executor"] is None and read_records(records) == []  # a resume dispatches it again


def _assign_event(task_ids: list[str]) -> str:
    return json.dumps({"id": uuid.uuid4().hex, "taskIds": task_ids})


def test_an_assign_of_60000_ids_is_rejected_at_once_and_the_node_goes_on(nodes, cluster, tmp_path):
    node = start_node(nodes)
    cluster.send(KafkaTopic.TASK_ASSIGN, "huge", _assign_event([f"h-{i:05d}" for i in range(60_000)]))
    records = str(tmp_path / "r.jsonl")
    started = time.monotonic()
    running(cluster, node, "t-after-huge", records)  # before: the node read 60,000 documents one by one
    assert time.monotonic() - started < 10
    node.wait_log("names 60000 tasks, more than max_event_task_ids (1000); rejected")
    time.sleep(1)
    assert node.log().count("names 60000 tasks") == 1  # committed: not tried again


def test_an_assign_of_800_ids_is_read_in_batches(nodes, cluster, tmp_path):
    node = start_node(nodes)
    records = str(tmp_path / "r.jsonl")
    ids = [f"b-{i:03d}" for i in range(800)]
    model = SleepModel(seconds=0.2, record_to=records)
    documents = [{**Task(id=task_id, class_name="SleepWorker", source="test", attachments=model).to_document(),
                  "executor": node.skald_id if task_id in ("b-000", "b-799") else "node-elsewhere",
                  "lifecycleStatus": "Assigning", "attempt": 1} for task_id in ids]
    cluster.mongo[cluster.names["db_name"]]["tasks"].insert_many(documents)
    cluster.send(KafkaTopic.TASK_ASSIGN, "batch", _assign_event(ids))
    for task_id in ("b-000", "b-799"):
        cluster.wait_status(task_id, "Finished", timeout=15)
    node.wait_log("800 document(s) read in")


def _dead_letters(cluster, count: int, timeout: float = 30.0) -> list[dict]:
    consumer = Consumer({**cluster.kafka.client_config(), "group.id": f"dlq-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([cluster.kafka.topic(KafkaTopic.DEAD_LETTER)])
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(json.loads(message.value()))
    finally:
        consumer.close()
    return found


def test_a_poison_event_is_dead_lettered_after_its_tries_and_later_events_flow(nodes, cluster, tmp_path):
    node = start_node(nodes)
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-poisoned", "PoisonWorker", SleepModel(seconds=120, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-poisoned")
    cluster.wait_status("t-poisoned", "Running")
    lifecycle.update_attachments(cluster.store, "t-poisoned", {"seconds": 120, "label": "poison"})
    cluster.send_event(KafkaTopic.TASK_UPDATE_ATTACHMENT, "t-poisoned")
    [letter] = _dead_letters(cluster, 1)
    assert letter["topic"] == cluster.kafka.topic(KafkaTopic.TASK_UPDATE_ATTACHMENT) and letter["key"] == "t-poisoned"
    assert "t-poisoned" in letter["value"] and "poisons the validator" in letter["reason"]
    assert letter["attempts"] == 5 and letter["skaldId"] == node.skald_id and letter["ts"] > 0
    node.wait_log("failed 5 times")
    running(cluster, node, "t-after-poison", str(tmp_path / "s.jsonl"))  # later events flow


def _paused_ticker(nodes, cluster, tmp_path, task_id: str, period: str):
    """A TickWorker paused on a node (SIGSTOP): its node, pid and the ticks file."""
    from support.workers import TickModel

    node = nodes.start(RECONCILE_PERIOD=period)
    ticks = str(tmp_path / "ticks.jsonl")
    cluster.create(task_id, "TickWorker", TickModel(record_to=ticks), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, task_id)
    cluster.wait_status(task_id, "Running")
    wait_for(lambda: read_records(ticks), 10, "the first tick")
    pid = read_records(ticks)[0]["pid"]
    cluster.desire(task_id, "Paused")
    cluster.send_event(KafkaTopic.TASK_PAUSE, task_id)
    wait_for(lambda: process_state(pid) == "T", 10, "the worker stopped")
    return node, pid, ticks


def _moved(cluster, task_id: str) -> None:
    """What the controller writes when it gives the task to another node, with the user's resume."""
    assert cluster.store.update(task_id, {"executor": "elsewhere", "lifecycleStatus": "Running",
                                          "desiredStatus": "Running"}, increment={"attempt": 1})


def test_a_paused_copy_whose_task_moved_is_killed_without_running_again(nodes, cluster, tmp_path):
    node, pid, ticks = _paused_ticker(nodes, cluster, tmp_path, "t-paused-moved", period=str(PERIOD))
    paused_ticks = len(read_records(ticks))
    _moved(cluster, "t-paused-moved")
    wait_for(lambda: not alive(pid), LIMIT, "the stale paused copy to be killed")
    node.wait_log("paused copy killed without resuming it")
    assert len(read_records(ticks)) == paused_ticks  # not one step more beside the copy that replaced it


def test_a_resume_event_older_than_the_move_does_not_wake_the_stale_copy(nodes, cluster, tmp_path):
    node, pid, ticks = _paused_ticker(nodes, cluster, tmp_path, "t-stale-resume", period="60")
    paused_ticks = len(read_records(ticks))
    _moved(cluster, "t-stale-resume")
    cluster.send_event(KafkaTopic.TASK_RESUME, "t-stale-resume")
    node.wait_log("resume of task t-stale-resume ignored")
    time.sleep(1)
    assert process_state(pid) == "T" and len(read_records(ticks)) == paused_ticks

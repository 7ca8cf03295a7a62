"""A real node on real Kafka, MongoDB (FerretDB) and Redis: assign, run, finish, cancel, update."""

import time

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.cluster import read_records, wait_for
from support.processes import alive, process_state
from support.workers import SleepModel

pytestmark = pytest.mark.integration


def test_assign_runs_the_task_and_records_running_then_finished(nodes, cluster, tmp_path):
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-finish", "SleepWorker", SleepModel(seconds=1.0, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-finish")
    running = cluster.wait_status("t-finish", "Running")
    assert running["executor"] == node.skald_id and running["attempt"] == 1
    assert cluster.key("task:t-finish:heartbeat") is not None
    done = cluster.wait_status("t-finish", "Finished")
    assert done["exitCode"] == 0 and done["error"] is None
    assert [r["event"] for r in read_records(records)] == ["initialize", "before", "main", "after", "release"]
    assert wait_for(lambda: cluster.key("task:t-finish:heartbeat") == "200", 5, "heartbeat 200")
    # the history entries are appended just after the status fields: wait for them
    assert wait_for(lambda: {("status", "Running"), ("status", "Finished")} <= {
        (entry["type"], entry.get("status")) for entry in cluster.history("t-finish")}, 5, "status history")


def test_node_registers_in_redis_with_0_3_8_keys(nodes, cluster):
    node = nodes.start()
    assert node.skald_id in cluster.hgetall("skalds:hash")
    assert cluster.hgetall("skalds:mode:hash")[node.skald_id] == "node"
    classes = cluster.redis.lrange(cluster.prefix + f"skalds:{node.skald_id}:allow-task-class-name", 0, -1)
    assert "SleepWorker" in classes
    assert cluster.key(f"skalds:{node.skald_id}:all-task") is not None


def test_running_heartbeat_changes_every_period(nodes, cluster, tmp_path):
    node = nodes.start()
    cluster.create("t-beat", "SleepWorker", SleepModel(seconds=5), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-beat")
    cluster.wait_status("t-beat", "Running")
    seen = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        seen.add(cluster.key("task:t-beat:heartbeat"))
        time.sleep(0.1)
    assert len(seen - {None}) >= 4, seen
    assert all(0 <= int(value) < 200 for value in seen - {None})


def test_repeated_assign_is_a_no_op_and_old_attempt_is_ignored(nodes, cluster, tmp_path):
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-dup", "SleepWorker", SleepModel(seconds=3, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-dup")
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-dup")
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-dup", attempt=0)
    cluster.wait_status("t-dup", "Finished")
    assert [r["event"] for r in read_records(records)].count("main") == 1
    node.wait_log("already runs here")


@pytest.mark.parametrize("assign_first", [True, False], ids=["assign-first", "cancel-first"])
def test_a_newer_attempt_replaces_the_running_copy_whatever_the_event_order(nodes, cluster, tmp_path, assign_first):
    """A restart sends cancel(old attempt) and the dispatcher's assign(new attempt) on different
    topics: in either order the old process ends and exactly one new process runs."""
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-next", "SleepWorker", SleepModel(seconds=60, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-next")
    cluster.wait_status("t-next", "Running")
    # What the controller's restart and its dispatcher do to the document: Created, then attempt 2 here.
    cluster.store.update("t-next", {"lifecycleStatus": "Assigning"}, increment={"attempt": 1})
    events = [(KafkaTopic.TASK_ASSIGN, 2), (KafkaTopic.TASK_CANCEL, 1)]
    for topic, attempt in events if assign_first else reversed(events):
        cluster.send_event(topic, "t-next", attempt=attempt)
    wait_for(lambda: [r["event"] for r in read_records(records)].count("main") == 2, 15, "the second run")
    document = cluster.wait_status("t-next", "Running")
    assert document["attempt"] == 2
    time.sleep(1.0)  # a late cancel of attempt 1 must not reach attempt 2
    mains = [r["pid"] for r in read_records(records) if r["event"] == "main"]
    assert not alive(mains[0]) and alive(mains[1])
    assert cluster.status("t-next") == "Running"


def test_finished_task_is_not_restarted_by_a_replayed_assign(nodes, cluster, tmp_path):
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-replay", "SleepWorker", SleepModel(seconds=0.1, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-replay")
    cluster.wait_status("t-replay", "Finished")
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-replay")
    node.wait_log("is Finished; assign ignored")
    assert [r["event"] for r in read_records(records)].count("main") == 1


def test_task_for_another_executor_is_not_started(nodes, cluster):
    node = nodes.start()
    cluster.create("t-other", "SleepWorker", SleepModel(), executor="someone-else")
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-other")
    node.wait_log("not " + node.skald_id)
    assert cluster.status("t-other") == "Assigning"


def test_assign_naming_another_recipient_is_skipped_without_reading_the_task(nodes, cluster):
    node = nodes.start()
    cluster.create("t-named", "SleepWorker", SleepModel(seconds=30), executor=node.skald_id)
    event = '{"id": "t-named", "recipient": "node-elsewhere", "taskIds": ["t-named"], "attempt": 1}'
    cluster.send(KafkaTopic.TASK_ASSIGN, "t-named", event)
    node.wait_log("is for node-elsewhere; skipped")
    assert cluster.status("t-named") == "Assigning"
    cluster.send(KafkaTopic.TASK_ASSIGN, "t-named", event.replace("node-elsewhere", node.skald_id))
    wait_for(lambda: cluster.status("t-named") == "Running", 15, "named recipient runs it")


def test_cancel_of_a_cooperative_worker(nodes, cluster, tmp_path):
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-cancel", "SleepWorker", SleepModel(seconds=60, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-cancel")
    cluster.wait_status("t-cancel", "Running")
    started = time.monotonic()
    cluster.send_event(KafkaTopic.TASK_CANCEL, "t-cancel")
    document = cluster.wait_status("t-cancel", "Cancelled", timeout=10)
    assert time.monotonic() - started < 2
    assert document["exitCode"] == 143
    assert [r["event"] for r in read_records(records)][-1] == "release"
    assert wait_for(lambda: cluster.key("task:t-cancel:heartbeat") == "-2", 5, "heartbeat -2")


def test_cancel_escalates_to_sigkill_for_a_stubborn_worker(nodes, cluster):
    node = nodes.start()
    cluster.create("t-stubborn", "StubbornWorker", SleepModel(), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-stubborn")
    cluster.wait_status("t-stubborn", "Running")
    started = time.monotonic()
    cluster.send_event(KafkaTopic.TASK_CANCEL, "t-stubborn")
    document = cluster.wait_status("t-stubborn", "Cancelled", timeout=15)
    elapsed = time.monotonic() - started
    assert 2.5 < elapsed < 6, elapsed  # request (1 s) + SIGTERM grace (2 s), then SIGKILL
    assert document["exitCode"] == -9
    node.wait_log("SIGKILL")


def test_update_reaches_the_running_worker_and_is_acknowledged(nodes, cluster, tmp_path):
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-upd", "SleepWorker", SleepModel(seconds=30, record_to=records, label="v0"),
                   executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-upd")
    cluster.wait_status("t-upd", "Running")
    cluster.repository.update_attachments("t-upd", SleepModel(seconds=30, label="v1", record_to=records))
    cluster.send_event(KafkaTopic.TASK_UPDATE_ATTACHMENT, "t-upd")
    wait_for(lambda: any(r["event"] == "update_end" and r["label"] == "v1" for r in read_records(records)), 10,
             "update handler")
    wait_for(lambda: cluster.doc("t-upd").get("appliedAttachmentsVersion") == 1, 5, "applied version recorded")
    assert wait_for(lambda: any(entry["type"] == "attachments_applied" for entry in cluster.history("t-upd")), 5,
                    "attachments_applied in the history")  # appended just after the document's fields


def test_update_calls_never_overlap(nodes, cluster, tmp_path):
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-serial", "SleepWorker", SleepModel(seconds=30, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-serial")
    cluster.wait_status("t-serial", "Running")
    for index in range(3):
        cluster.repository.update_attachments(
            "t-serial", SleepModel(seconds=30, label=f"u{index}", handler_seconds=0.3, record_to=records))
        cluster.send_event(KafkaTopic.TASK_UPDATE_ATTACHMENT, "t-serial")
    wait_for(lambda: sum(r["event"] == "update_end" for r in read_records(records)) == 3, 15, "three updates")
    sequence = [r["event"] for r in read_records(records) if r["event"].startswith("update")]
    assert sequence == ["update_start", "update_end"] * 3


def test_update_with_invalid_attachments_is_rejected_and_recorded(nodes, cluster, tmp_path):
    node = nodes.start()
    cluster.create("t-badupd2", "SleepWorker", SleepModel(seconds=30), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-badupd2")
    cluster.wait_status("t-badupd2", "Running")
    cluster.store.update("t-badupd2", {"attachments": {"seconds": "not a number"}}, increment={"attachmentsVersion": 1})
    cluster.send_event(KafkaTopic.TASK_UPDATE_ATTACHMENT, "t-badupd2")
    wait_for(lambda: any(entry["type"] == "attachments_rejected" for entry in cluster.history("t-badupd2")), 10,
             "rejection recorded")
    assert cluster.status("t-badupd2") == "Running"



def test_pause_suspends_the_process_and_resume_continues_it(nodes, cluster, tmp_path):
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-pause", "SleepWorker", SleepModel(seconds=2, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-pause")
    cluster.wait_status("t-pause", "Running")
    pid = next(r["pid"] for r in read_records(records) if r["event"] == "main")
    cluster.desire("t-pause", "Paused")  # what the API stores before it sends the event (the store decides)
    cluster.send_event(KafkaTopic.TASK_PAUSE, "t-pause")
    cluster.wait_status("t-pause", "Paused")
    wait_for(lambda: process_state(pid) == "T", 3, "the worker process to be stopped (no CPU)")
    time.sleep(3)  # longer than the task's own run time: it must not finish while paused
    assert cluster.status("t-pause") == "Paused"
    cluster.desire("t-pause", "Running")
    cluster.send_event(KafkaTopic.TASK_RESUME, "t-pause")
    cluster.wait_status("t-pause", "Finished", timeout=15)

    def statuses() -> list[str]:  # the history entries are written just after the status fields
        return [entry.get("status") for entry in cluster.history("t-pause") if entry["type"] == "status"]
    wait_for(lambda: len(statuses()) >= 4, 5, "the Finished history entry")
    assert statuses() == ["Running", "Paused", "Running", "Finished"]
    main_end = next(r for r in read_records(records) if r["event"] == "after")["ts"]
    resumed = [entry["ts"] for entry in cluster.history("t-pause") if entry.get("status") == "Running"][-1]
    assert main_end * 1000 >= resumed - 50  # the main hook ended only after the resume


def test_cancel_of_a_paused_task(nodes, cluster):
    node = nodes.start()
    cluster.create("t-pc", "SleepWorker", SleepModel(seconds=60), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-pc")
    cluster.wait_status("t-pc", "Running")
    cluster.desire("t-pc", "Paused")
    cluster.send_event(KafkaTopic.TASK_PAUSE, "t-pc")
    cluster.wait_status("t-pc", "Paused")
    cluster.send_event(KafkaTopic.TASK_CANCEL, "t-pc")
    cluster.wait_status("t-pc", "Cancelled", timeout=10)


def test_node_script_importing_a_sibling_module_from_another_directory(nodes, cluster, tmp_path):
    """The fork server gets the node's import path, so workers start with the script's siblings."""
    from pathlib import Path

    import support.workers as workers_module

    script_dir = tmp_path / "app"
    script_dir.mkdir()
    (script_dir / "sibworkers.py").write_text(Path(workers_module.__file__).read_text())
    runner = (Path(workers_module.__file__).parent / "run_node.py").read_text()
    (script_dir / "node.py").write_text(runner.replace("from support.workers import", "from sibworkers import"))
    node = nodes.start(script=script_dir / "node.py", cwd=tmp_path)
    cluster.create("t-sib", "SleepWorker", SleepModel(seconds=0.2), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-sib")
    assert cluster.wait_status("t-sib", "Finished")["exitCode"] == 0


def test_a_burst_of_assigns_is_read_in_one_query_and_every_task_finishes(nodes, cluster, tmp_path):
    node = nodes.start()
    node.wait_log("standby worker process(es) ready")
    ids = [f"t-burst-{index}" for index in range(30)]
    for task_id in ids:
        cluster.create(task_id, "SleepWorker", SleepModel(seconds=0.1), executor=node.skald_id)
    cluster.create("t-burst-other", "SleepWorker", SleepModel(seconds=0.1), executor="someone-else")
    from confluent_kafka import Producer

    producer = Producer(cluster.kafka.client_config())
    for task_id in [*ids, "t-burst-other"]:
        producer.produce(cluster.kafka.topic(KafkaTopic.TASK_ASSIGN), key=task_id.encode(),
                         value=f'{{"taskIds": ["{task_id}"], "attempt": 1}}'.encode())
    assert producer.flush(10) == 0
    node.wait_log("task documents in one query")
    node.wait_log("(standby, ")  # started in a process forked ahead of time
    wait_for(lambda: all(cluster.status(task_id) == "Finished" for task_id in ids), 60, "burst finished")
    assert cluster.status("t-burst-other") == "Assigning"

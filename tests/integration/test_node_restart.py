"""Restarts, shutdown and crashes: nothing is lost, nothing runs twice."""

import os
import signal

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.cluster import read_records, wait_for
from support.workers import SleepModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_events_sent_while_the_node_is_down_are_handled_after_restart(nodes, cluster):
    node = nodes.start("node-restart")
    node.terminate()
    cluster.create("t-offline", "SleepWorker", SleepModel(seconds=0.1), executor="node-restart")
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-offline")
    nodes.start("node-restart")
    cluster.wait_status("t-offline", "Finished", timeout=30)


def test_shutdown_releases_tasks_for_reassignment_and_deregisters(nodes, cluster, tmp_path):
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-release", "SleepWorker", SleepModel(seconds=60, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-release")
    cluster.wait_status("t-release", "Running")
    assert node.terminate() == 0
    document = cluster.doc("t-release")
    assert document["lifecycleStatus"] == "Created"
    assert document["executor"] is None
    assert [r["event"] for r in read_records(records)][-1] == "release"
    assert node.skald_id not in cluster.hgetall("skalds:hash")
    assert any(entry["type"] == "released" for entry in cluster.history("t-release"))


def test_second_signal_exits_at_once(nodes, cluster):
    node = nodes.start(CANCEL_REQUEST_TIMEOUT="30", CANCEL_GRACE_SECONDS="30")
    cluster.create("t-second", "StubbornWorker", SleepModel(), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-second")
    cluster.wait_status("t-second", "Running")
    node.process.send_signal(signal.SIGTERM)
    node.wait_log("shutting down")
    node.process.send_signal(signal.SIGTERM)
    assert node.process.wait(5) != 0


def test_killed_node_workers_stop_and_restart_recovers_its_tasks(nodes, cluster, tmp_path):
    records = str(tmp_path / "r.jsonl")
    node = nodes.start("node-crash")
    cluster.create("t-crash", "SleepWorker", SleepModel(seconds=60, record_to=records), executor="node-crash")
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-crash")
    cluster.wait_status("t-crash", "Running")
    first_pid = next(r["pid"] for r in read_records(records) if r["event"] == "main")
    os.kill(node.process.pid, signal.SIGKILL)
    node.process.wait(5)
    wait_for(lambda: not _alive(first_pid), 15, "orphaned worker to stop")
    nodes.start("node-crash")
    wait_for(lambda: sum(r["event"] == "main" for r in read_records(records)) == 2, 20, "task recovered")
    document = cluster.wait_status("t-crash", "Running")
    assert document["attempt"] == 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_reassigned_task_stops_its_stale_copy(nodes, cluster, tmp_path):
    records = str(tmp_path / "r.jsonl")
    first = nodes.start()
    second = nodes.start()
    cluster.create("t-move", "SleepWorker", SleepModel(seconds=60, record_to=records), executor=first.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-move")
    cluster.wait_status("t-move", "Running")
    cluster.repository.update_executor("t-move", second.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-move")
    first.wait_log("reassigned to another node", timeout=15)
    wait_for(lambda: sum(r["event"] == "release" for r in read_records(records)) == 1, 15, "stale copy released")
    document = cluster.wait_status("t-move", "Running")
    assert document["executor"] == second.skald_id and document["attempt"] == 2

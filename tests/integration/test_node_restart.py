"""Restarts, shutdown and crashes: nothing is lost, nothing runs twice."""

import os
import signal

import pytest

from skalds.proxy.kafka import KafkaTopic
from skalds.tasks import lifecycle
from support.cluster import read_records, wait_for
from support.processes import alive
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
    wait_for(lambda: not alive(first_pid), 15, "orphaned worker to stop")
    nodes.start("node-crash")
    wait_for(lambda: sum(r["event"] == "main" for r in read_records(records)) == 2, 20, "task recovered")
    document = cluster.wait_status("t-crash", "Running")
    assert document["attempt"] == 2


def test_a_task_paused_on_a_node_that_restarts_leaves_it_and_runs_again_when_resumed(nodes, cluster, tmp_path):
    """Its process died with the node: nothing is left to resume there, so the restarted node lets it go
    (before, it kept naming the node, and a resume stayed pending for ever)."""
    records = str(tmp_path / "r.jsonl")
    node = nodes.start("node-paused", RECONCILE_PERIOD="1")
    cluster.create("t-paused", "SleepWorker", SleepModel(seconds=120, record_to=records), executor="node-paused")
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-paused")
    cluster.wait_status("t-paused", "Running")
    pid = next(r["pid"] for r in read_records(records) if r["event"] == "main")
    assert lifecycle.pause(cluster.store, "t-paused").applied  # no event: the node's reconciler pauses it
    cluster.wait_status("t-paused", "Paused", timeout=10)
    os.kill(node.process.pid, signal.SIGKILL)
    node.process.wait(5)
    assert alive(pid)  # stopped: it cannot notice that its node died
    nodes.start("node-paused", RECONCILE_PERIOD="1")
    wait_for(lambda: not alive(pid), 5, "the restarted node to kill the stopped worker its last run left")
    wait_for(lambda: cluster.doc("t-paused")["executor"] is None, 15, "the restarted node to let the task go")
    assert cluster.status("t-paused") == "Paused"
    assert cluster.history("t-paused")[-1]["type"] == "lost"
    resumed = lifecycle.resume(cluster.store, "t-paused").document
    assert resumed is not None and resumed["lifecycleStatus"] == "Created"  # the dispatcher places it again


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

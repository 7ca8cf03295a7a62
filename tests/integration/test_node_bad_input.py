"""Bad input never stops a node: each case is logged with its reason, committed, and the next task runs."""

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.workers import SleepModel

pytestmark = pytest.mark.integration


def assert_node_still_works(node, cluster, task_id="t-after"):
    cluster.create(task_id, "SleepWorker", SleepModel(seconds=0.1), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, task_id)
    cluster.wait_status(task_id, "Finished")


def test_malformed_events_are_logged_and_skipped(nodes, cluster):
    node = nodes.start()
    cluster.send(KafkaTopic.TASK_ASSIGN, "k1", b"{not json")
    cluster.send(KafkaTopic.TASK_ASSIGN, None, b'{"taskIds": ["x"]}')
    cluster.send(KafkaTopic.TASK_ASSIGN, "k3", b'{"wrong": "shape"}')
    cluster.send(KafkaTopic.TASK_ASSIGN, "k4", b"")
    cluster.send(KafkaTopic.TASK_CANCEL, "k5", b"\xff\xfe")
    cluster.send(KafkaTopic.TASK_ASSIGN, "missing", b'{"taskIds": ["missing"]}')
    node.wait_log("is not JSON")
    node.wait_log("has no key")
    node.wait_log("is not a TaskEvent")
    node.wait_log("has an empty value")
    node.wait_log("does not exist in the task store")
    assert_node_still_works(node, cluster)


def test_unregistered_class_is_ignored(nodes, cluster):
    node = nodes.start()
    cluster.create_raw({"id": "t-unknown", "className": "NoSuchWorker", "source": "test", "executor": node.skald_id,
                        "lifecycleStatus": "Assigning", "attempt": 1, "mode": "Passive", "attachments": {}})
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-unknown")
    node.wait_log("'NoSuchWorker' is not registered")
    assert_node_still_works(node, cluster)


def test_attachments_that_fail_validation_make_the_task_failed(nodes, cluster):
    node = nodes.start()
    cluster.create_raw({"id": "t-invalid", "className": "StrictWorker", "source": "test", "executor": node.skald_id,
                        "lifecycleStatus": "Assigning", "attempt": 1, "mode": "Passive",
                        "attachments": {"count": "many"}})
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-invalid")
    document = cluster.wait_status("t-invalid", "Failed")
    assert "invalid attachments" in document["error"] and "count" in document["error"]
    assert_node_still_works(node, cluster)


def test_initialize_raising_fails_the_task_with_that_error(nodes, cluster):
    node = nodes.start()
    cluster.create("t-init", "InitFailWorker", SleepModel(), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-init")
    document = cluster.wait_status("t-init", "Failed")
    assert "initialize refused these attachments" in document["error"]
    assert document["exitCode"] == 1
    assert_node_still_works(node, cluster)


def test_exception_in_main_is_recorded_with_traceback(nodes, cluster):
    node = nodes.start()
    cluster.create("t-boom", "FailingWorker", SleepModel(), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-boom")
    document = cluster.wait_status("t-boom", "Failed")
    assert "RuntimeError: boom from FailingWorker" in document["error"]
    assert "Traceback" in document["error"]
    assert cluster.key("task:t-boom:heartbeat") == "-1"
    assert "boom from FailingWorker" in cluster.key("task:t-boom:exception")


def test_worker_dying_hard_is_failed_with_its_exit_code(nodes, cluster):
    node = nodes.start()
    cluster.create("t-exit", "HardExitWorker", SleepModel(), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-exit")
    document = cluster.wait_status("t-exit", "Failed")
    assert document["exitCode"] == 7
    assert "exit code 7" in document["error"]
    assert_node_still_works(node, cluster)


def test_worker_killed_by_a_signal_is_failed_with_the_signal(nodes, cluster):
    import os
    import signal

    node = nodes.start()
    cluster.create("t-kill", "SleepWorker", SleepModel(seconds=30), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-kill")
    cluster.wait_status("t-kill", "Running")
    pid = int(next(line.rsplit("pid ", 1)[1].split()[0] for line in node.log().splitlines()
                   if "task t-kill (SleepWorker) started" in line))
    os.kill(pid, signal.SIGKILL)
    document = cluster.wait_status("t-kill", "Failed")
    assert document["exitCode"] == -9
    assert "killed by signal 9 (SIGKILL)" in document["error"]


def test_worker_that_cannot_start_is_failed_with_the_reason(nodes, cluster):
    node = nodes.start()
    node.wait_log("standby worker process(es) ready")  # the standby path must fall back and report it too
    cluster.create("t-nopickle", "UnpicklableWorker", SleepModel(), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-nopickle")
    document = cluster.wait_status("t-nopickle", "Failed")
    assert "worker could not start" in document["error"] and "pickle" in document["error"]
    assert_node_still_works(node, cluster)

"""The controller follows the change feed: no store polling while idle, the same view after a restart or a
failover, and nothing missed when the feed drops.

Before the feed, an idle controller read `task_events` several times a second and counted every task each
cycle; its cost grew with the store (bench/results/store-growth-2026-12-01.md).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from skalds.model.task import TaskLifecycleStatus
from skalds.tasks import queries
from skalds.transport.wire_names import KafkaTopic
from support.cluster import wait_for
from support.controller import ControllerProcess
from support.private_cluster import private_factories
from support.private_services import PrivateServices
from support.workers import SleepModel

pytestmark = pytest.mark.integration
OPERATION = re.compile(r'^skalds_controller_store_operations_total\{operation="(\w+)"\} ([0-9.e+]+)$', re.M)


def store_operations(controller: ControllerProcess) -> dict[str, float]:
    return {name: float(value) for name, value in OPERATION.findall(controller.http.get("/metrics").text)}


def summary(controller: ControllerProcess) -> dict[str, int]:
    """The task counts; a 503 (the controller has not read its starting state yet) is waited out."""
    response = wait_for(lambda: (answer := controller.http.get("/api/system/dashboard/summary")).status_code != 503
                        and answer, 30, "the controller's first read of the store")
    assert response.status_code == 200, response.text
    return {key: value for key, value in response.json().items() if key.endswith("Tasks")}


def create(controller: ControllerProcess, seconds: float, class_name: str = "SleepWorker", **extra) -> str:
    response = controller.http.post("/api/tasks", json={"waitForClass": True, "className": class_name,
                                                        "attachments": {"seconds": seconds}, **extra})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def stored_counts(cluster) -> dict[str, int]:
    counts = queries.counts_by_status(cluster.store)
    return {status.value: counts.get(status.value, 0) for status in TaskLifecycleStatus}


def as_summary(counts: dict[str, int]) -> dict[str, int]:
    names = {"Running": "runningTasks", "Finished": "finishedTasks", "Failed": "failedTasks",
             "Assigning": "assigningTasks", "Cancelled": "cancelledTasks", "Created": "createdTasks",
             "Paused": "pausedTasks"}
    return {"totalTasks": sum(counts.values()), **{names[status]: count for status, count in counts.items()}}


def test_an_idle_controller_makes_no_store_queries(controllers, nodes, cluster):
    """None but the view's audit: two indexed reads of the live tasks' stamps every VIEW_AUDIT_SECONDS."""
    controller = controllers.start(VIEW_AUDIT_SECONDS="4")
    nodes.start()
    running = create(controller, 120)
    for _ in range(3):
        create(controller, 0.1)
    wait_for(lambda: summary(controller)["finishedTasks"] == 3 and summary(controller)["runningTasks"] == 1, 30,
             "three finished and one running, in the view")
    time.sleep(2)  # the last statuses' re-reads are done
    before = store_operations(controller)
    assert before.get("find", 0) > 0  # counted: the start read the live tasks, the feed re-read the changed ones
    time.sleep(10)  # nothing happens: the node heartbeats, the monitor watches, the leader renews its lease
    after = store_operations(controller)
    changed = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    assert set(changed) <= {"find"} and changed.get("find", 0) <= 2 * 4, changed  # 2 or 3 audits, nothing else
    assert controller.http.get(f"/api/tasks/{running}").json()["lifecycleStatus"] == "Running"


def test_a_change_no_message_announced_reaches_the_view_by_its_audit(controllers, nodes, cluster):
    """A task written by a program that publishes no change (or whose message a broker restart lost): the
    view's audit finds it and the dispatcher assigns it. Without the audit the view never learns of it."""
    controller = controllers.start(VIEW_AUDIT_SECONDS="2")
    node = nodes.start()
    create(controller, 0.1)
    wait_for(lambda: summary(controller)["finishedTasks"] == 1, 30, "the feed working")
    cluster.create("unannounced", "SleepWorker", SleepModel(seconds=120))  # TaskRepository: 0.3.8 writes, not fed
    # within the audit and a dispatch, not the dispatcher's 30 s sweep
    document = cluster.wait_status("unannounced", "Running", timeout=15)
    assert document["executor"] == node.skald_id


def test_a_node_status_reaches_the_view_and_the_stream_from_the_feed(controllers, nodes, cluster):
    controller = controllers.start()
    nodes.start()
    seen: list[dict] = []
    with httpx.Client(base_url=controller.url, timeout=30) as client, \
            client.stream("GET", "/api/events/tasks") as stream:
        task_id = create(controller, 0.3)
        for line in stream.iter_lines():
            if line.startswith("data: ") and task_id in line:
                seen.append(json.loads(line[6:]))
                if any(message.get("data", {}).get("lifecycleStatus") == "Finished" for message in seen):
                    break
    statuses = [message["data"].get("lifecycleStatus") for message in seen if message["type"] == "task_status"]
    assert statuses[-2:] == ["Running", "Finished"], seen
    assert summary(controller)["finishedTasks"] == 1
    assert store_operations(controller).get("find", 0) > 0  # counted: the statuses were re-read by key


def test_a_restarted_controller_rebuilds_the_same_view(controllers, nodes, cluster):
    first = controllers.start()
    nodes.start()
    for seconds in (0.1, 0.1, 120, 120):
        create(first, seconds)
    create(first, 1, class_name="NobodyRunsThisWorker")  # stays Created
    failing = create(first, 0.1, class_name="FailingWorker")
    wanted = {"runningTasks": 2, "finishedTasks": 2, "failedTasks": 1}
    last: list[dict[str, int]] = []
    try:
        wait_for(lambda: last.append(summary(first)) or all(last[-1][key] == n for key, n in wanted.items()),
                 30, "the mix of states")
    except AssertionError as timed_out:  # which count, and what the store holds
        raise AssertionError(f"{timed_out}: view {last[-1]}, store {stored_counts(cluster)}") from None
    seen = summary(first)
    assert seen == as_summary(stored_counts(cluster))
    first.stop()
    second = controllers.start()
    assert summary(second) == seen
    assert second.http.get(f"/api/tasks/{failing}").json()["lifecycleStatus"] == "Failed"


def test_two_controllers_agree_on_counts_and_the_standby_takes_over(controllers, nodes, cluster):
    leader = controllers.start()
    standby = controllers.start()
    nodes.start()
    for seconds in (0.1, 0.1, 0.1, 120):
        create(leader, seconds)
    wait_for(lambda: summary(leader)["finishedTasks"] == 3 and summary(leader)["runningTasks"] == 1, 30, "work")
    wait_for(lambda: summary(standby) == summary(leader), 5, "the standby to see the same counts")
    leader.process.kill()  # no lease release: the standby waits out the lease (3 s in tests)
    leader.process.wait(10)
    started = time.monotonic()
    task_id = create(standby, 0.1)
    wait_for(lambda: standby.http.get(f"/api/tasks/{task_id}").json()["lifecycleStatus"] == "Finished", 30,
             "the standby to dispatch")
    assert time.monotonic() - started < 15
    wait_for(lambda: summary(standby) == as_summary(stored_counts(cluster)), 5, "the standby's counts")


def test_a_malformed_change_message_costs_one_reread_and_nothing_else(controllers, nodes, cluster):
    controller = controllers.start()
    nodes.start()
    create(controller, 0.1)
    wait_for(lambda: summary(controller)["finishedTasks"] == 1, 30, "one finished")
    rebuilds = _rebuilds(controller)
    for junk in (b"not json", b'{"v": 1, "entries": "x"}', b"x" * 900_000):
        cluster.send(KafkaTopic.TASK_CHANGES, "attacker", junk)
    wait_for(lambda: _rebuilds(controller) > rebuilds, 10, "a re-read after the junk")
    create(controller, 0.1)
    wait_for(lambda: summary(controller)["finishedTasks"] == 2, 30, "the feed still followed")


def _rebuilds(controller: ControllerProcess) -> float:
    found = re.search(r"^skalds_controller_view_rebuilds_total ([0-9.e+]+)$", controller.http.get("/metrics").text,
                      re.M)
    return float(found.group(1)) if found else 0.0


def test_nothing_is_missed_when_the_event_bus_restarts(private: PrivateServices, tmp_path: Path) -> None:
    controllers, nodes = private_factories(private, tmp_path, "feed_gap")
    try:
        controller = controllers.start()
        nodes.start("feed-gap-a")
        ids = [create(controller, 6) for _ in range(3)] + [create(controller, 600)]
        wait_for(lambda: summary(controller)["runningTasks"] == 4, 30, "all four running")
        private.restart("kafka")  # the short ones finish while the bus is away
        wait_for(lambda: summary(controller)["finishedTasks"] == 3, 60, "the view to learn of the finished tasks")
        assert summary(controller)["runningTasks"] == 1
        assert [controller.http.get(f"/api/tasks/{task_id}").json()["lifecycleStatus"] for task_id in ids] == \
            ["Finished", "Finished", "Finished", "Running"]
    finally:
        nodes.stop_all()
        controllers.stop_all()

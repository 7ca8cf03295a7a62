"""A real controller with real nodes: create -> Running -> Finished, control actions, reassignment."""

import os
import signal
import time

import pytest

from support.cluster import read_records, wait_for

pytestmark = pytest.mark.integration


def create(controller, class_name="SleepWorker", **body):
    response = controller.http.post("/api/tasks", json={"waitForClass": True, "className": class_name, **body})
    assert response.status_code == 201, response.text
    return response.json()


def status_of(controller, task_id):
    return controller.http.get(f"/api/tasks/{task_id}").json()["lifecycleStatus"]


def wait_api_status(controller, task_id, *statuses, timeout=20):
    return wait_for(lambda: status_of(controller, task_id) in statuses, timeout,
                    f"{task_id} to be {statuses} (now {status_of(controller, task_id)})")


def test_task_created_through_the_api_runs_and_finishes(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    node = nodes.start()
    records = str(tmp_path / "r.jsonl")
    started = time.monotonic()
    task = create(controller, attachments={"seconds": 0.5, "recordTo": records}, name="first")
    assert task["lifecycleStatus"] == "Created" and task["attempt"] == 0
    wait_for(lambda: read_records(records) and read_records(records)[0]["event"] == "initialize", 10, "start")
    assert time.monotonic() - started < 5
    wait_api_status(controller, task["id"], "Finished")
    detail = controller.http.get(f"/api/tasks/{task['id']}").json()
    assert detail["executor"] == node.skald_id and detail["attempt"] == 1 and detail["attachments"]["seconds"] == 0.5
    history = controller.history_with(task["id"], "Finished")
    kinds = [entry["type"] for entry in history]
    assert kinds[:2] == ["created", "assigned"] and history[1]["executor"] == node.skald_id
    assert [e["status"] for e in history if e["type"] == "status"] == ["Running", "Finished"]


def test_only_nodes_that_registered_the_class_get_it(controllers, nodes, cluster):
    controller = controllers.start()
    nodes.start()
    task = create(controller, class_name="NobodyHasThisWorker")
    time.sleep(3)
    assert status_of(controller, task["id"]) == "Created"


def test_cancel_update_pause_resume_through_the_api(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    nodes.start()
    records = str(tmp_path / "r.jsonl")
    task = create(controller, attachments={"seconds": 60, "recordTo": records, "label": "v0"})
    task_id = task["id"]
    wait_api_status(controller, task_id, "Running")
    response = controller.http.put(f"/api/tasks/{task_id}/attachments",
                                   json={"attachments": {"seconds": 60, "recordTo": records, "label": "v1"}})
    assert response.status_code == 200 and response.json()["data"]["attachmentsVersion"] == 1
    wait_for(lambda: any(r["event"] == "update_end" and r["label"] == "v1" for r in read_records(records)), 10,
             "update delivered")
    wait_for(lambda: controller.http.get(f"/api/tasks/{task_id}").json()["appliedAttachmentsVersion"] == 1, 10,
             "update acknowledged")
    # Accepted (202) and pending until the node has carried the change out: the status stays true meanwhile.
    paused = controller.http.post(f"/api/tasks/{task_id}/pause")
    assert paused.status_code == 202 and paused.json()["data"]["pending"] is True
    assert paused.json()["data"]["desiredStatus"] == "Paused"
    wait_api_status(controller, task_id, "Paused")
    assert controller.http.get(f"/api/tasks/{task_id}").json()["pending"] is False
    assert controller.http.put(f"/api/tasks/{task_id}/status", json={"lifecycleStatus": "Running"}).status_code == 202
    wait_api_status(controller, task_id, "Running")
    cancelled = controller.http.post(f"/api/tasks/{task_id}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["data"]["desiredStatus"] == "Cancelled"
    assert controller.http.post(f"/api/tasks/{task_id}/cancel").status_code in (200, 202)  # repeated: no 409
    wait_api_status(controller, task_id, "Cancelled")
    wait_for(lambda: read_records(records)[-1]["event"] == "release", 10, "worker released")
    assert controller.http.post(f"/api/tasks/{task_id}/cancel").status_code == 409


def test_killed_node_tasks_move_within_seconds_and_never_run_twice(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    first = nodes.start("node-a")
    nodes.start("node-b")
    records = {index: str(tmp_path / f"r{index}.jsonl") for index in range(4)}
    ids = [create(controller, attachments={"seconds": 120, "recordTo": records[index]})["id"] for index in range(4)]
    for task_id in ids:
        wait_api_status(controller, task_id, "Running")
    on_a = [task_id for task_id in ids if controller.http.get(f"/api/tasks/{task_id}").json()["executor"] == "node-a"]
    assert on_a, "LEAST_TASKS should spread four tasks over two nodes"
    os.killpg(first.process.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    for task_id in on_a:
        wait_for(lambda tid=task_id: (d := controller.http.get(f"/api/tasks/{tid}").json())["executor"] == "node-b"
                 and d["lifecycleStatus"] == "Running", 15, f"{task_id} to run on node-b")
    moved_after = time.monotonic() - killed_at
    assert moved_after < 10, moved_after
    nodes.start("node-a")  # the same id comes back
    time.sleep(4)
    for index, task_id in enumerate(ids):
        detail = controller.http.get(f"/api/tasks/{task_id}").json()
        assert detail["lifecycleStatus"] == "Running"
        live = [r["pid"] for r in read_records(records[index]) if r["event"] == "main"]
        assert sum(_alive(pid) for pid in live) == 1, f"{task_id}: {len(live)} runs, more than one alive"


def _alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def test_capacity_is_respected(controllers, nodes, cluster):
    controller = controllers.start()
    nodes.start(MAX_CONCURRENT_TASKS="1")
    first = create(controller, attachments={"seconds": 3})
    second = create(controller, attachments={"seconds": 0.1})
    wait_api_status(controller, first["id"], "Running")
    time.sleep(1)
    assert status_of(controller, second["id"]) == "Created"
    wait_api_status(controller, second["id"], "Finished", timeout=20)


def test_freed_capacity_is_used_at_once_for_short_tasks(controllers, nodes, cluster):
    """A task that ends within the dispatcher's memory of recent assignments frees its slot at once
    (the sweep is 30 s in tests, so only the wake-up on the task's end can start the next one)."""
    controller = controllers.start()
    nodes.start(MAX_CONCURRENT_TASKS="1")
    ids = [create(controller, attachments={"seconds": 0.3})["id"] for _ in range(4)]
    for task_id in ids:
        wait_api_status(controller, task_id, "Finished", timeout=15)


@pytest.mark.parametrize("strategy", ["ROUND_ROBIN", "LEAST_TASKS", "RANDOM"])
def test_strategies_spread_tasks(controllers, nodes, cluster, strategy):
    controller = controllers.start(DISPATCHER_STRATEGY=strategy.lower())
    nodes.start("node-x")
    nodes.start("node-y")
    wait_for(lambda: controller.http.get("/api/skalds", params={"status": "online"}).json()["total"] == 2, 30,
             "both nodes online before tasks arrive")  # a loaded machine starts a node slowly
    ids = [create(controller, attachments={"seconds": 30})["id"] for _ in range(6)]
    executors = [wait_for(lambda tid=tid: controller.http.get(f"/api/tasks/{tid}").json()["executor"], 15, "assign")
                 for tid in ids]
    counts = {node: executors.count(node) for node in ("node-x", "node-y")}
    if strategy == "ROUND_ROBIN":
        assert executors[0::2].count(executors[0]) == 3 and executors[0] != executors[1], executors
    elif strategy == "LEAST_TASKS":
        assert counts == {"node-x": 3, "node-y": 3}, executors
    else:
        assert sum(counts.values()) == 6


def test_retry_budget_with_backoff(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    nodes.start()
    records = str(tmp_path / "r.jsonl")
    task = create(controller, class_name="FailingWorker", attachments={"recordTo": records}, maxRetries=2)
    wait_for(lambda: sum(r["event"] == "main" for r in read_records(records)) == 3, 30, "three runs")
    wait_api_status(controller, task["id"], "Failed")
    time.sleep(3)
    assert sum(r["event"] == "main" for r in read_records(records)) == 3
    detail = controller.http.get(f"/api/tasks/{task['id']}").json()
    assert detail["retryCount"] == 2 and "boom" in detail["error"]


def test_failed_task_without_budget_is_not_retried_until_asked(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    nodes.start()
    records = str(tmp_path / "r.jsonl")
    task = create(controller, class_name="FailingWorker", attachments={"recordTo": records})
    wait_api_status(controller, task["id"], "Failed")
    time.sleep(2)
    assert sum(r["event"] == "main" for r in read_records(records)) == 1
    assert controller.http.post(f"/api/tasks/{task['id']}/retry").status_code == 200
    wait_for(lambda: sum(r["event"] == "main" for r in read_records(records)) == 2, 15, "manual retry")


def test_edge_tasks_are_shown_and_never_moved(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    nodes.start("spare-node")
    yaml_file = tmp_path / "edge.yml"
    yaml_file.write_text("TaskWorkers:\n  edge-cam:\n    className: SleepWorker\n    attachments:\n      seconds: 60\n")
    edge = nodes.start("edge-box", SKALD_MODE="edge", YAML_FILE=str(yaml_file))
    wait_api_status(controller, "edge-cam", "Running")
    assert controller.http.get("/api/tasks/edge-cam").json()["mode"] == "Active"
    wait_for(lambda: controller.http.get("/api/skalds/edge-box").json().get("type") == "edge", 10, "edge node seen")
    os.killpg(edge.process.pid, signal.SIGKILL)
    wait_for(lambda: controller.http.get("/api/skalds/edge-box").json()["status"] == "offline", 10, "edge offline")
    time.sleep(2)
    detail = controller.http.get("/api/tasks/edge-cam").json()
    assert detail["executor"] == "edge-box" and detail["attempt"] == 1
    assert not any(entry["type"] == "lost" for entry in controller.http.get("/api/tasks/edge-cam/events").json()
                   ["events"])


def test_restart_on_the_same_node_runs_the_new_attempt(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    nodes.start()
    records = str(tmp_path / "r.jsonl")
    task = create(controller, attachments={"seconds": 60, "recordTo": records})
    wait_api_status(controller, task["id"], "Running")
    assert controller.http.put(f"/api/tasks/{task['id']}/status", json={"lifecycleStatus": "Created"}).status_code \
        == 200
    wait_for(lambda: sum(r["event"] == "main" for r in read_records(records)) == 2, 20, "second run")
    wait_api_status(controller, task["id"], "Running")
    time.sleep(1.5)
    detail = controller.http.get(f"/api/tasks/{task['id']}").json()
    assert detail["lifecycleStatus"] == "Running" and detail["attempt"] == 2
    mains = [r["pid"] for r in read_records(records) if r["event"] == "main"]
    assert not _alive(mains[0]) and _alive(mains[1])

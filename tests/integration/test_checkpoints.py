"""Checkpoints end to end (issue #15), on the real services and on the embedded SQLite file: real controller,
real node processes, workers that save every step and resume from `last_checkpoint`."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cluster import read_records, wait_for
from support.controller import ControllerFactory, ControllerProcess
from support.failure_logs import print_logs_on_failure
from support.nodes import NodeFactory
from support.services import Endpoints

pytestmark = pytest.mark.integration
KILLED_TASKS = 20  # the issue asks for 50; 20 worker processes is what the shared 2-core test machine carries


@pytest.fixture(params=["services", "embedded"])
def fleet_of(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str],
             tmp_path: Path) -> Iterator[tuple[ControllerFactory, NodeFactory]]:
    if request.param == "services":
        yield request.getfixturevalue("controllers"), request.getfixturevalue("nodes")
        return
    database = tmp_path / "embedded" / "skalds.db"
    nodes = NodeFactory(services, names, tmp_path, embedded=database)
    controllers = ControllerFactory(services, names, tmp_path, embedded=database)
    try:
        yield controllers, nodes
    finally:
        controllers.stop_all()
        nodes.stop_all()
        print_logs_on_failure(request, {**{f"node {n.skald_id}": n.log for n in nodes.started},
                                        **{f"controller :{c.port}": c.log for c in controllers.started}})


def create(controller: ControllerProcess, class_name: str = "CheckpointWorker", **attachments: object) -> str:
    response = controller.http.post("/api/tasks", json={"waitForClass": True, "className": class_name,
                                                        "attachments": attachments})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def detail(controller: ControllerProcess, task_id: str) -> dict:
    return controller.http.get(f"/api/tasks/{task_id}").json()


def checkpoint(controller: ControllerProcess, task_id: str) -> dict | None:
    response = controller.http.get(f"/api/tasks/{task_id}/checkpoint")
    assert response.status_code in (200, 404), response.text
    return response.json() if response.status_code == 200 else None


def test_a_killed_nodes_tasks_all_resume_elsewhere_from_their_last_checkpoint(fleet_of, tmp_path):
    controllers, nodes = fleet_of
    controller = controllers.start()
    doomed = nodes.start("node-a")
    records = {n: str(tmp_path / f"r{n}.jsonl") for n in range(KILLED_TASKS)}
    ids = {n: create(controller, stepSeconds=0.3, recordTo=records[n]) for n in range(KILLED_TASKS)}
    for task_id in ids.values():
        wait_for(lambda tid=task_id: (c := checkpoint(controller, tid)) and c["state"]["step"] >= 3, 40,
                 f"{task_id} to checkpoint step 3")
    nodes.start("node-b")
    os.killpg(doomed.process.pid, signal.SIGKILL)
    saved = {n: checkpoint(controller, task_id) for n, task_id in ids.items()}  # nothing saves on node-a any more
    for task_id in ids.values():
        try:
            wait_for(lambda tid=task_id: (d := detail(controller, tid))["executor"] == "node-b"
                     and d["lifecycleStatus"] == "Running", 40, f"{task_id} to run on node-b")
        except AssertionError:
            print(detail(controller, task_id), controller.http.get(f"/api/tasks/{task_id}/events").json())
            raise
    for n, task_id in ids.items():
        starts = [r for r in read_records(records[n]) if r["event"] == "initialize"]
        assert [r["attempt"] for r in starts] == [1, 2], f"{task_id}: attempts started {starts}"
        resumed = starts[1]["checkpoint"]
        assert resumed is not None and resumed["attempt"] == 1, f"{task_id} started from zero: {starts[1]}"
        assert resumed["step"] == saved[n]["state"]["step"] >= 3, (resumed, saved[n])  # its last one, not older
        mains = [r for r in read_records(records[n]) if r["event"] == "main" and r["attempt"] == 2]
        assert [r["start"] for r in mains] == [resumed["step"]]
        history = controller.http.get(f"/api/tasks/{task_id}/events").json()["events"]
        restored = [e for e in history if e["type"] == "checkpoint_restored"]
        assert [(e["attempt"], e["checkpoint"]["attempt"]) for e in restored] == [(2, 1)], restored
    for task_id in ids.values():  # node-b's copies save again, for their own attempt
        wait_for(lambda tid=task_id: checkpoint(controller, tid)["attempt"] == 2, 10, f"{task_id} saving attempt 2")
        wait_for(lambda tid=task_id: detail(controller, tid)["checkpoint"]["attempt"] == 2, 10,
                 f"{task_id}'s summary of attempt 2")


def test_task_documents_carry_the_summary_and_the_state_is_its_own_read(fleet_of, tmp_path):
    controllers, nodes = fleet_of
    controller = controllers.start()
    nodes.start("node-a")
    plain = controller.http.post("/api/tasks", json={"waitForClass": True, "className": "SleepWorker",
                                                    "attachments": {"seconds": 30}}).json()["id"]
    task_id = create(controller, stepSeconds=0.2, saveBytes=1000)
    wait_for(lambda: checkpoint(controller, task_id), 20, "a checkpoint")
    summary = wait_for(lambda: detail(controller, task_id)["checkpoint"], 10, "its summary on the task")
    assert set(summary) == {"savedAt", "attempt", "sizeBytes"} and summary["attempt"] == 1
    assert 1000 < summary["sizeBytes"] < 1200 and abs(summary["savedAt"] / 1000 - time.time()) < 30
    state = checkpoint(controller, task_id)
    assert state["taskId"] == task_id and state["state"]["by"] == "main" and len(state["state"]["pad"]) == 1000
    listed = {t["id"]: t for t in controller.http.get("/api/tasks").json()["items"]}
    assert listed[task_id]["checkpoint"]["attempt"] == 1 and "pad" not in str(listed[task_id])
    assert detail(controller, plain)["checkpoint"] is None
    assert controller.http.get(f"/api/tasks/{plain}/checkpoint").status_code == 404
    assert controller.http.get("/api/tasks/no-such-task/checkpoint").status_code == 404
    assert controller.http.delete(f"/api/tasks/{task_id}").status_code in (200, 202, 409)


def test_a_save_over_the_limit_raises_in_the_worker_with_a_clear_error(fleet_of, tmp_path):
    controllers, nodes = fleet_of
    controller = controllers.start()
    nodes.start("node-a", CHECKPOINT_MAX_BYTES="4096")  # configurable (default 1 MiB)
    records = str(tmp_path / "r.jsonl")
    task_id = create(controller, "OversizeCheckpointWorker", saveBytes=5000, recordTo=records)
    failed = wait_for(lambda: (d := detail(controller, task_id))["lifecycleStatus"] == "Failed" and d, 20, "Failed")
    refused = [r for r in read_records(records) if r["event"] == "refused"]
    assert len(refused) == 1 and "over the limit of 4096 bytes" in refused[0]["error"], refused
    assert "checkpoint_max_bytes" in refused[0]["error"] and "over the limit of 4096 bytes" in failed["error"]
    assert checkpoint(controller, task_id) is None


def test_a_node_shutdown_runs_the_checkpoint_handler_and_the_next_attempt_starts_from_it(fleet_of, tmp_path):
    controllers, nodes = fleet_of
    controller = controllers.start()
    first = nodes.start("node-a")
    records = str(tmp_path / "r.jsonl")
    task_id = create(controller, stepSeconds=60, handlerSeconds=0.5, recordTo=records)  # one save by main, then none
    wait_for(lambda: (c := checkpoint(controller, task_id)) and c["state"]["by"] == "main", 20, "main's save")
    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(30) == 0
    handled = [r for r in read_records(records) if r["event"] == "checkpoint_handler"]
    assert len(handled) == 1, read_records(records)
    saved = checkpoint(controller, task_id)
    assert saved["state"]["by"] == "handler" and saved["attempt"] == 1  # written before the node let the task go
    # A release, never Cancelled (the dispatcher may already have offered it again to the node that was leaving).
    assert detail(controller, task_id)["lifecycleStatus"] in ("Created", "Assigning")
    history = controller.http.get(f"/api/tasks/{task_id}/events").json()["events"]
    assert [e["reason"] for e in history if e["type"] == "released"] == ["node shutdown"]
    nodes.start("node-b")
    wait_for(lambda: detail(controller, task_id)["lifecycleStatus"] == "Running", 30, "Running on node-b")
    starts = [r for r in read_records(records) if r["event"] == "initialize"]
    assert len(starts) == 2 and starts[0]["attempt"] == 1 and starts[1]["checkpoint"]["by"] == "handler"


def test_an_edge_task_goes_on_from_its_checkpoint_when_its_node_restarts(nodes, cluster, tmp_path):
    records = tmp_path / "r.jsonl"
    yaml_file = tmp_path / "tasks.yml"
    yaml_file.write_text(f"TaskWorkers:\n  edge-steps:\n    className: CheckpointWorker\n    attachments:\n"
                         f"      stepSeconds: 0.2\n      recordTo: {records}\n")
    edge = nodes.start("edge-1", SKALD_MODE="edge", YAML_FILE=str(yaml_file))
    wait_for(lambda: (cluster.store.get_checkpoint("edge-steps") or {}).get("state", {}).get("step", 0) >= 3, 20,
             "three steps saved")
    edge.process.send_signal(signal.SIGTERM)
    assert edge.process.wait(30) == 0
    saved = cluster.store.get_checkpoint("edge-steps")
    assert saved["state"]["by"] == "handler"
    nodes.start("edge-1", SKALD_MODE="edge", YAML_FILE=str(yaml_file))
    wait_for(lambda: len([r for r in read_records(str(records)) if r["event"] == "main"]) == 2, 20, "second start")
    starts = [r for r in read_records(str(records)) if r["event"] == "initialize"]
    assert starts[1]["checkpoint"] == saved["state"]

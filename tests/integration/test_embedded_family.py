"""Controller and nodes with no service configured at all: everything on the embedded SQLite file.

The processes get no KAFKA_HOST, MONGO_HOST, REDIS_HOST nor SKALDS_BACKEND, only
SKALDS_EMBEDDED_PATH (a file in the test's directory): the zero-service default of design §4.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from skalds.model.event import TaskEvent
from skalds.model.task import Task
from skalds.proxy.kafka import KafkaTopic
from skalds.repository.repository import TaskRepository
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventPublisher
from skalds.transport.sqlite_tasks import SqliteTaskStore
from support.cluster import read_records, wait_for
from support.controller import ControllerFactory, ControllerProcess
from support.failure_logs import print_logs_on_failure
from support.nodes import NodeFactory
from support.services import Endpoints
from support.workers import SleepModel

pytestmark = pytest.mark.integration


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "embedded" / "skalds.db"


@pytest.fixture
def nodes(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str], tmp_path: Path,
          database: Path) -> Iterator[NodeFactory]:
    factory = NodeFactory(services, names, tmp_path, embedded=database)
    try:
        yield factory
    finally:
        factory.stop_all()
        print_logs_on_failure(request, {f"node {node.skald_id}": node.log for node in factory.started})


@pytest.fixture
def controllers(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str], tmp_path: Path,
                database: Path, nodes: NodeFactory) -> Iterator[ControllerFactory]:
    factory = ControllerFactory(services, names, tmp_path, embedded=database)
    try:
        yield factory
    finally:
        factory.stop_all()
        print_logs_on_failure(request, {f"controller :{c.port}": c.log for c in factory.started})


def create(controller: ControllerProcess, class_name: str = "SleepWorker", **body: object) -> dict:
    response = controller.http.post("/api/tasks", json={"waitForClass": True, "className": class_name, **body})
    assert response.status_code == 201, response.text
    return response.json()


def detail(controller: ControllerProcess, task_id: str) -> dict:
    return controller.http.get(f"/api/tasks/{task_id}").json()


def wait_status(controller: ControllerProcess, task_id: str, *statuses: str, timeout: float = 20) -> dict:
    return wait_for(lambda: (d := detail(controller, task_id))["lifecycleStatus"] in statuses and d, timeout,
                    f"{task_id} to be {statuses} (now {detail(controller, task_id)['lifecycleStatus']})")


def test_a_task_created_through_the_api_runs_to_finished_without_any_service(controllers, nodes, database, tmp_path):
    controller = controllers.start()
    node = nodes.start()
    assert f"transport: embedded SQLite file {database}" in node.log()
    assert f"transport: embedded SQLite file {database}" in controller.log()
    records = str(tmp_path / "r.jsonl")
    task = create(controller, attachments={"seconds": 0.3, "recordTo": records}, name="first")
    finished = wait_status(controller, task["id"], "Finished")
    assert finished["executor"] == node.skald_id and finished["attempt"] == 1
    assert [r["event"] for r in read_records(records)][:3] == ["initialize", "before", "main"]
    history = controller.history_with(task["id"], "Finished")
    assert [entry["type"] for entry in history][:2] == ["created", "assigned"]
    assert [entry["status"] for entry in history if entry["type"] == "status"] == ["Running", "Finished"]
    nodes_seen = controller.http.get("/api/skalds").json()
    assert node.skald_id in str(nodes_seen)
    assert database.exists()


def test_update_and_cancel_reach_the_worker(controllers, nodes, tmp_path):
    controller = controllers.start()
    nodes.start()
    records = str(tmp_path / "r.jsonl")
    task_id = create(controller, attachments={"seconds": 60, "recordTo": records, "label": "v0"})["id"]
    wait_status(controller, task_id, "Running")
    response = controller.http.put(f"/api/tasks/{task_id}/attachments",
                                   json={"attachments": {"seconds": 60, "recordTo": records, "label": "v1"}})
    assert response.status_code == 200, response.text
    wait_for(lambda: any(r["event"] == "update_end" and r.get("label") == "v1" for r in read_records(records)), 15,
             "the update to reach the worker")
    wait_for(lambda: detail(controller, task_id).get("appliedAttachmentsVersion") == 1, 10, "update acknowledged")
    assert controller.http.post(f"/api/tasks/{task_id}/cancel").status_code == 202  # pending: the node stops it
    wait_status(controller, task_id, "Cancelled")
    wait_for(lambda: read_records(records)[-1]["event"] == "release", 10, "the worker to release")


def test_tasks_of_a_killed_node_move_to_the_other_node(controllers, nodes, tmp_path):
    controller = controllers.start()
    first = nodes.start("emb-a")
    nodes.start("emb-b")
    ids = [create(controller, attachments={"seconds": 120, "recordTo": str(tmp_path / f"r{i}.jsonl")})["id"]
           for i in range(4)]
    for task_id in ids:
        wait_status(controller, task_id, "Running")
    on_a = [task_id for task_id in ids if detail(controller, task_id)["executor"] == "emb-a"]
    assert on_a, "LEAST_TASKS spreads four tasks over two nodes"
    os.killpg(first.process.pid, signal.SIGKILL)
    for task_id in on_a:
        wait_for(lambda tid=task_id: (d := detail(controller, tid))["executor"] == "emb-b"
                 and d["lifecycleStatus"] == "Running", 30, f"{task_id} to run on emb-b")


def test_an_assign_sent_while_the_node_is_down_is_delivered_when_it_returns(nodes, names, database, tmp_path):
    """The node's consumer group keeps its committed position in the file across a restart."""
    node = nodes.start("emb-r")
    node.terminate()
    store = SqliteTaskStore(SqliteDatabase(database))
    publisher = SqliteEventPublisher(SqliteDatabase(database))
    try:
        records = str(tmp_path / "r.jsonl")
        repository = TaskRepository(store)
        repository.create_task(Task(id="while-down", class_name="SleepWorker", source="test",
                                    attachments=SleepModel(seconds=0.2, recordTo=records)))
        repository.update_executor("while-down", "emb-r")
        event = TaskEvent(task_ids=["while-down"], attempt=1).model_dump_json(by_alias=True)
        publisher.publish(f"{names['topic_prefix']}{KafkaTopic.TASK_ASSIGN}", "while-down", event)
        nodes.start("emb-r")
        wait_for(lambda: (store.get("while-down") or {}).get("lifecycleStatus") == "Finished", 30,
                 "the task assigned while the node was down to finish")
        assert [r["event"] for r in read_records(records)].count("main") == 1
    finally:
        store.close()
        publisher.close()


def test_an_unusable_embedded_path_stops_the_node_with_a_clear_error(nodes, tmp_path):
    (tmp_path / "blocker").write_text("a file where a directory should be")
    node = nodes.start("emb-bad", wait=False, SKALDS_EMBEDDED_PATH=str(tmp_path / "blocker" / "skalds.db"))
    assert node.process.wait(60) == 2
    assert "SKALDS_EMBEDDED_PATH" in node.log() and "cannot" in node.log()

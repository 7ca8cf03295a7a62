"""Attachments are checked where they enter, against the schemas real nodes publish; a task waits visibly
for a class no node runs; a rejected update is never what a retry starts with (real services and nodes)."""

import pytest

from support.cluster import read_records, wait_for

pytestmark = pytest.mark.integration


def _wait_for_class(http, class_name):
    wait_for(lambda: any(class_name in node["supportedTasks"] for node in http.get("/api/skalds").json()["items"]),
             20, f"a node that runs {class_name}")


def test_invalid_attachments_are_refused_with_each_field_at_create_and_update(controllers, nodes, cluster):
    controller = controllers.start()
    node = nodes.start()
    http = controller.http
    _wait_for_class(http, "SleepWorker")
    refused = http.post("/api/tasks", json={"id": "bad-1", "className": "SleepWorker",
                                            "attachments": {"seconds": "soon", "label": 7}})
    assert refused.status_code == 422, refused.text
    fields = {tuple(item["loc"]): item["msg"] for item in refused.json()["detail"]}
    assert set(fields) == {("body", "attachments", "seconds"), ("body", "attachments", "label")}
    assert "'soon' is not of type 'number'" in fields[("body", "attachments", "seconds")]
    assert http.get("/api/tasks/bad-1").status_code == 404  # nothing was stored
    created = http.post("/api/tasks", json={"id": "good-1", "className": "SleepWorker",
                                            "attachments": {"seconds": 30, "label": "a"}})
    assert created.status_code == 201, created.text
    update = http.put("/api/tasks/good-1/attachments", json={"attachments": {"seconds": [1]}})
    assert update.status_code == 422 and update.json()["detail"][0]["loc"] == ["body", "attachments", "seconds"]
    task = http.get("/api/tasks/good-1").json()
    assert task["attachments"] == {"seconds": 30, "label": "a"} and task["attachmentsVersion"] == 0
    http.post("/api/tasks/good-1/cancel")
    described = http.get("/api/classes/SleepWorker").json()
    assert described["nodes"] == [node.skald_id] and described["variants"] == 1
    assert described["attachmentsSchema"]["properties"]["seconds"]["type"] == "number"


def test_an_unknown_class_is_refused_unless_the_task_may_wait_for_a_node(controllers, nodes, cluster):
    controller = controllers.start()
    http = controller.http
    refused = http.post("/api/tasks", json={"id": "w-1", "className": "SleepWorker", "attachments": {}})
    assert refused.status_code == 422, refused.text
    assert "no node has registered class 'SleepWorker'" in refused.json()["detail"][0]["msg"]
    waiting = http.post("/api/tasks", json={"id": "w-1", "className": "SleepWorker", "waitForClass": True,
                                            "attachments": {"seconds": 0.5}})
    assert waiting.status_code == 201, waiting.text
    assert waiting.json()["waitingFor"] == "waiting for a node that runs SleepWorker"
    assert http.get("/api/tasks/w-1").json()["waitingFor"] == "waiting for a node that runs SleepWorker"
    listed = http.get("/api/tasks").json()["items"]
    assert [item["waitingFor"] for item in listed] == ["waiting for a node that runs SleepWorker"]
    nodes.start()
    done = wait_for(lambda: (task := http.get("/api/tasks/w-1").json())["lifecycleStatus"] == "Finished" and task,
                    30, "the waiting task to run once a node runs its class")
    assert done["waitingFor"] is None


def test_a_rejected_update_is_not_what_a_retry_starts_with(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    nodes.start()
    http = controller.http
    records = str(tmp_path / "r.jsonl")
    _wait_for_class(http, "PickyWorker")
    created = http.post("/api/tasks", json={"id": "p-1", "className": "PickyWorker",
                                            "attachments": {"seconds": 60, "label": "good", "recordTo": records}})
    assert created.status_code == 201, created.text
    wait_for(lambda: http.get("/api/tasks/p-1").json()["lifecycleStatus"] == "Running", 30, "p-1 running")
    stored = http.put("/api/tasks/p-1/attachments",
                      json={"attachments": {"seconds": 60, "label": "refused", "recordTo": records}})
    assert stored.status_code == 200
    task = wait_for(lambda: (found := http.get("/api/tasks/p-1").json())["rejectedAttachmentsVersion"] == 1 and found,
                    20, "the worker's rejection")
    assert task["attachments"]["label"] == "refused"  # desired: kept and shown
    assert task.get("appliedAttachments", {}).get("label") == "good"  # applied: what the worker runs with
    assert task.get("startsWithVersion") == 0 and stored.json()["data"].get("sentToWorker") is True
    assert http.post("/api/tasks/p-1/cancel").status_code in (200, 202)
    wait_for(lambda: http.get("/api/tasks/p-1").json()["lifecycleStatus"] == "Cancelled", 30, "p-1 cancelled")
    assert http.post("/api/tasks/p-1/retry").status_code in (200, 202)
    wait_for(lambda: len([r for r in read_records(records) if r["event"] == "initialize"]) == 2, 30, "the retry")
    labels = [record["label"] for record in read_records(records) if record["event"] == "initialize"]
    assert labels == ["good", "good"]  # the retry starts with the last applied attachments, not the rejected
    assert http.get("/api/tasks/p-1").json()["attachments"]["label"] == "refused"
    http.post("/api/tasks/p-1/cancel")

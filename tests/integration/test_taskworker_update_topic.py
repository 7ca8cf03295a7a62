"""A 0.3.8 script's update on `taskworker.update` reaches the running worker: the controller stores it,
the node's reconciler delivers it (real Kafka, MongoDB, Redis, controller and node processes)."""

from __future__ import annotations

import pytest

from skalds.model.event import UpdateTaskWorkerEvent
from skalds.model.task import TaskLifecycleStatus
from support.cluster import read_records, wait_for
from support.workers import SleepModel

pytestmark = pytest.mark.integration


def test_a_0_3_8_update_on_taskworker_update_reaches_the_running_worker(controllers, nodes, cluster, names,
                                                                       script_environment, tmp_path):
    from skalds.proxy.kafka import KafkaProxy, KafkaTopic

    controller = controllers.start()
    topic = f"{names['topic_prefix']}taskworker.update"
    wait_for(lambda: f"consuming {topic} as group" in controller.log(), 20, "the controller to consume " + topic)
    nodes.start()
    records = str(tmp_path / "records.jsonl")
    created = controller.http.post("/api/tasks", json={"className": "SleepWorker", "attachments": {
        "seconds": 60, "recordTo": records, "label": "v0"}})
    task_id = created.json()["id"]
    wait_for(lambda: cluster.status(task_id) == TaskLifecycleStatus.RUNNING.value, 20, "the task to run")

    kafka = KafkaProxy()  # 0.3.8: KafkaProxy(KafkaConfig(...)); with no argument, the environment's Kafka
    kafka.produce(KafkaTopic.TASK_WORKER_UPDATE, key="no-such-task", value='{"attachments": {"label": "x"}}')
    kafka.produce(KafkaTopic.TASK_WORKER_UPDATE, key=task_id, value='{"attachments": [1]}')
    update = UpdateTaskWorkerEvent(attachments=SleepModel(seconds=60, record_to=records, label="v1"))
    kafka.produce(KafkaTopic.TASK_WORKER_UPDATE, key=task_id, value=update.model_dump_json())
    kafka.close()

    wait_for(lambda: any(r["event"] == "update_end" and r["label"] == "v1" for r in read_records(records)), 20,
             "the worker to get the update")
    document = wait_for(lambda: (d := cluster.doc(task_id)).get("appliedAttachmentsVersion") == 1 and d, 10,
                        "the update to be acknowledged")
    assert document["attachmentsVersion"] == 1 and document["attachments"]["label"] == "v1"
    assert [entry["type"] for entry in cluster.history(task_id)].count("attachments_updated") == 1
    log = controller.log()
    assert "taskworker.update skipped: task 'no-such-task' not found" in log
    assert f"taskworker.update skipped: the event of task {task_id} has no usable attachments" in log
    controller.http.post(f"/api/tasks/{task_id}/cancel")

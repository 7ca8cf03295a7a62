"""A real node given one assign event naming several tasks (the dispatcher's batch, one event per node):
each task is fenced by its own document, so a task the event is too old for is not started."""

import json
import time

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.workers import SleepModel

pytestmark = pytest.mark.integration


def test_one_event_for_several_tasks_starts_each_task_of_that_attempt(nodes, cluster):
    node = nodes.start()
    for task_id in ("mb-1", "mb-2", "mb-newer", "mb-elsewhere"):
        cluster.create(task_id, "SleepWorker", SleepModel(seconds=30),
                       executor="someone-else" if task_id == "mb-elsewhere" else node.skald_id)  # attempt 1
    cluster.repository.update_executor("mb-newer", node.skald_id)  # attempt 2: the event's attempt 1 is old
    event = {"id": "mb-1", "initiator": "SystemController", "recipient": node.skald_id, "attempt": 1,
             "taskIds": ["mb-1", "mb-2", "mb-newer", "mb-elsewhere"]}
    cluster.send(KafkaTopic.TASK_ASSIGN, "mb-1", json.dumps(event))
    for task_id in ("mb-1", "mb-2"):
        running = cluster.wait_status(task_id, "Running")
        assert (running["executor"], running["attempt"]) == (node.skald_id, 1)
    node.wait_log("assign of task mb-newer for old attempt 1 (now 2); ignored")
    node.wait_log("mb-elsewhere is for executor 'someone-else'")
    time.sleep(1)
    assert cluster.status("mb-elsewhere") == "Assigning"
    assert "task mb-newer (SleepWorker) started, attempt 1" not in node.log()  # only its own attempt 2 may start

"""Finished work goes away: DELETE removes a terminal task with its history, and the retention job
removes terminal tasks unchanged for longer than TASK_RETENTION_DAYS (never a live one, never a
recent one). On the real services."""

from __future__ import annotations

import time

import pytest

from skalds.model.task import Task
from support.cluster import wait_for

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


def _stored(cluster, task_id: str, status: str, age_days: float = 0.0) -> None:
    """A task as a node would have left it, last changed `age_days` ago, with some history."""
    document = Task(id=task_id, class_name="SleepWorker", source="test").to_document()
    changed = int(time.time() * 1000 - age_days * DAY_MS)
    cluster.create_raw({**document, "lifecycleStatus": status, "updateDateTime": changed})
    cluster.store.append_history(task_id, {"type": "status", "status": status})


def test_delete_removes_a_terminal_task_and_cancels_a_live_one_as_0_3_8_did(controllers, cluster):
    controller = controllers.start(TASK_RETENTION_DAYS="0")
    _stored(cluster, "done", "Finished")
    answer = controller.http.delete("/api/tasks/done")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["deleted"] is True
    assert controller.http.get("/api/tasks/done").status_code == 404
    assert cluster.store.get("done") is None and cluster.history("done") == []
    assert controller.http.delete("/api/tasks/done").status_code == 404

    _stored(cluster, "live", "Created")
    answer = controller.http.delete("/api/tasks/live")
    assert answer.status_code == 200, answer.text  # no node holds it: cancelled at once
    assert cluster.status("live") == "Cancelled" and cluster.history("live")
    assert controller.http.delete("/api/tasks/live").json()["data"]["deleted"] is True


def test_the_retention_job_removes_only_old_terminal_tasks(controllers, cluster):
    _stored(cluster, "old-finished", "Finished", age_days=3)
    _stored(cluster, "old-failed", "Failed", age_days=2)
    _stored(cluster, "recent-cancelled", "Cancelled", age_days=0.5)
    _stored(cluster, "old-paused", "Paused", age_days=30)  # not terminal: never removed
    controllers.start(TASK_RETENTION_DAYS="1", RETENTION_INTERVAL="0.5")
    wait_for(lambda: cluster.store.get("old-finished") is None and cluster.store.get("old-failed") is None, 20,
             "the retention job to remove the old terminal tasks")
    assert cluster.history("old-finished") == [] and cluster.history("old-failed") == []
    time.sleep(1.5)  # more cycles change nothing else
    assert cluster.store.get("recent-cancelled") is not None and cluster.store.get("old-paused") is not None
    assert cluster.history("recent-cancelled")


def test_retention_zero_keeps_everything(controllers, cluster):
    _stored(cluster, "ancient", "Finished", age_days=400)
    controllers.start(TASK_RETENTION_DAYS="0", RETENTION_INTERVAL="0.2")
    time.sleep(2)
    assert cluster.store.get("ancient") is not None

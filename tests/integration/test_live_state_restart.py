"""Liveness is judged from evidence: Redis restarted empty is not a sign that every node died.

Before, a missing heartbeat key counted as "node offline" at once: in 2 of 5 runs every healthy task
was declared lost 0.7 s after Redis came back, before its node had written its keys again.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.cluster import wait_for
from support.private_cluster import private_factories
from support.private_services import PrivateServices

pytestmark = pytest.mark.integration

TASKS = 10
RESTARTS = 20


def test_twenty_redis_restarts_declare_no_healthy_task_lost(private: PrivateServices, tmp_path: Path) -> None:
    controllers, nodes = private_factories(private, tmp_path, "restart")
    try:
        controller = controllers.start(MONITOR_HEARTBEAT_TIMEOUT="3", MONITOR_TASK_INTERVAL="0.2",
                                       MONITOR_SKALD_INTERVAL="0.2")
        nodes.start("restart-a", HEARTBEAT_PERIOD="1")
        for index in range(TASKS):
            created = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                               "id": f"r{index}", "className": "SleepWorker",
                                                               "attachments": {"seconds": 3600}})
            assert created.status_code == 201, created.text
        wait_for(lambda: controller.http.get("/api/tasks", params={"lifecycleStatus": "Running"}).json()["total"]
                 == TASKS, 60, "all tasks running")
        time.sleep(4)  # past the controller's own start-up grace
        for _ in range(RESTARTS):
            private.restart("redis")
            time.sleep(1.0)
        time.sleep(5)  # verdicts resume one timeout after the last restart
        events = [controller.http.get(f"/api/tasks/r{index}/events").json()["events"] for index in range(TASKS)]
        lost = [entry for history in events for entry in history if entry["type"] == "lost"]
        assert lost == []
        tasks = controller.http.get("/api/tasks", params={"pageSize": 100}).json()["items"]
        assert {(task["lifecycleStatus"], task["attempt"]) for task in tasks} == {("Running", 1)}
    finally:
        nodes.stop_all()
        controllers.stop_all()

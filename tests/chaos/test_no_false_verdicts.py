"""Soak: 200 healthy tasks for 10 minutes on production timings; not one may be declared dead.

0.3.8 judged liveness by the variation of random numbers and marked about 13 healthy tasks
per task-day as failed; this test pins the timestamp-based monitor to zero false verdicts.
Duration: SKALDS_SOAK_SECONDS (default 600).
"""

import os
import time

import pytest

from support.cluster import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TASKS = 200
SOAK_SECONDS = float(os.environ.get("SKALDS_SOAK_SECONDS", "600"))


@pytest.mark.timeout(int(SOAK_SECONDS) + 600)
def test_200_healthy_tasks_for_ten_minutes_are_never_declared_dead(controllers, nodes, cluster):
    production = {"HEARTBEAT_PERIOD": "1", "RECONCILE_PERIOD": "5", "LOG_LEVEL": "INFO"}  # the defaults
    controller = controllers.start(MONITOR_HEARTBEAT_TIMEOUT="6", MONITOR_TASK_INTERVAL="1",
                                   DISPATCHER_INTERVAL="1", ASSIGN_TIMEOUT="30", LOG_LEVEL="INFO")
    nodes.start("soak-a", **production)
    nodes.start("soak-b", **production)
    ids = []
    for index in range(TASKS):
        response = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                            "id": f"soak-{index:03d}", "className": "SleepWorker",
                                                           "attachments": {"seconds": SOAK_SECONDS + 300}})
        assert response.status_code == 201
        ids.append(response.json()["id"])
    wait_for(lambda: cluster.store.count({"lifecycleStatus": "Running"}) == TASKS, 180, "all tasks running")
    started = time.monotonic()
    while time.monotonic() - started < SOAK_SECONDS:
        time.sleep(15)
        lost = [entry for entry in cluster.store.events.find({"type": "lost"}, {"_id": 0})]
        assert not lost, f"healthy tasks declared lost after {time.monotonic() - started:.0f}s: {lost[:5]}"
    assert cluster.store.count({"lifecycleStatus": "Running", "attempt": 1}) == TASKS
    monitor = next(c for c in controller.http.get("/api/system/status").json()["components"]
                   if c["name"] == "Monitor")
    assert monitor["details"]["lostTasks"] == 0
    assert cluster.store.events.count_documents({"type": "status", "status": {"$ne": "Running"}}) == 0

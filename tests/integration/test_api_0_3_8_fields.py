"""The REST answers 0.3.8 clients read: 404 bodies, health services and metrics fields, with true values."""

from __future__ import annotations

import pytest

from support.cluster import wait_for

pytestmark = pytest.mark.integration


def test_rest_answers_carry_0_3_8_fields_with_true_values(controllers, nodes, cluster):
    controller = controllers.start()
    node = nodes.start()
    created = controller.http.post("/api/tasks", json={"className": "SleepWorker", "attachments": {"seconds": 60}})
    task_id = created.json()["id"]
    wait_for(lambda: cluster.status(task_id) == "Running", 20, "the task to run")

    for path in ("/api/tasks/nope", "/api/skalds/nope", "/api/no-such-route"):
        body = controller.http.get(path).json()
        assert body["message"] == f"The requested resource '{path}' was not found", path
        assert body["suggestion"] == "Check the API documentation at /api/docs", path
    assert "nope" in controller.http.get("/api/tasks/nope").json()["error"]  # ours, kept

    services = controller.http.get("/api/system/health").json()["services"]
    assert services == {"mongodb": "up", "redis": "up", "skald_store": "healthy", "task_store": "healthy"}

    def metrics() -> dict:
        return controller.http.get("/api/system/metrics").json()

    found = wait_for(lambda: (m := metrics())["tasks"]["totalAssigned"] == 1 and m, 15, "the node to report its task")
    assert found["skalds"] | {"total": 1} == {"total": 1, "online": 1, "offline": 0, "nodes": 1, "edges": 0,
                                              "availableNodes": 1, "busyNodes": 1, "idleNodes": 0}
    assert found["tasks"]["monitored"] == 1 and found["tasks"]["running"] == 1
    assert found["performance"]["averageTasksPerSkald"] == 1.0
    assert found["performance"]["taskDistribution"] == {node.skald_id: 1}
    assert found["performance"]["systemLoad"] == {"skaldUtilization": 100.0, "nodeUtilization": 100.0}

    controller.http.post(f"/api/tasks/{task_id}/cancel")
    idle = wait_for(lambda: (m := metrics())["skalds"]["idleNodes"] == 1 and m, 20, "the node to be idle")
    assert idle["skalds"]["busyNodes"] == 0 and idle["tasks"]["monitored"] == 0
    assert idle["performance"]["systemLoad"]["nodeUtilization"] == 0.0

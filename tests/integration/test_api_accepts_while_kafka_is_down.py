"""A stored change is accepted even when the event bus is not there: the API answers 202 at once, a repeat
changes nothing, and the node carries the change out once it hears of it (event or reconcile).

Before, with Kafka frozen, cancel and update waited 10 s and answered 503 "try again" although the change was
stored; five such 503s took effect later, and a retried cancel then got 409.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.cluster import read_records, wait_for
from support.private_cluster import private_factories
from support.private_services import PrivateServices

pytestmark = pytest.mark.integration


def test_cancel_and_update_with_kafka_frozen_are_accepted_and_land(private: PrivateServices, tmp_path: Path) -> None:
    controllers, nodes = private_factories(private, tmp_path, "kafka_down")
    records = str(tmp_path / "records.jsonl")
    try:
        controller = controllers.start()
        nodes.start("kafka-down-a", RECONCILE_PERIOD="30")  # the events, delivered late, carry the changes
        for task_id in ("to-cancel", "to-update"):
            assert controller.http.post("/api/tasks", json={"waitForClass": True,
                "id": task_id, "className": "SleepWorker",
                "attachments": {"seconds": 3600, "recordTo": records, "label": "v0"}}).status_code == 201
        wait_for(lambda: all(controller.http.get(f"/api/tasks/{t}").json()["lifecycleStatus"] == "Running"
                             for t in ("to-cancel", "to-update")), 60, "both running")
        private.pause("kafka")
        try:
            started = time.monotonic()
            cancelled = controller.http.post("/api/tasks/to-cancel/cancel")
            updated = controller.http.put("/api/tasks/to-update/attachments",
                                          json={"attachments": {"seconds": 3600, "recordTo": records, "label": "v1"}})
            again = controller.http.post("/api/tasks/to-cancel/cancel")
            answered_in = time.monotonic() - started
        finally:
            private.resume("kafka")
        assert cancelled.status_code == 202, cancelled.text
        assert updated.status_code == 200, updated.text
        assert again.status_code == 202 and again.json()["data"]["pending"] is True  # no 409 while pending
        assert answered_in < 9  # three requests, each waiting at most ~2 s for the broker
        wait_for(lambda: controller.http.get("/api/tasks/to-cancel").json()["lifecycleStatus"] == "Cancelled", 30,
                 "the cancel to land")
        wait_for(lambda: any(r["event"] == "update_end" and r.get("label") == "v1" for r in read_records(records)),
                 30, "the update to reach the worker")
    finally:
        nodes.stop_all()
        controllers.stop_all()

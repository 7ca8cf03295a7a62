"""Progress and metrics end to end, on the real services and on the embedded file: a worker's
`report_progress` reaches the API (latest and series), the task list and the Prometheus gauges, with
its last report kept after the end; invalid reports fail the task with a clear text; the per-task
gauges stop at their cap; the platform counters count by class."""

from __future__ import annotations

import re

import pytest

from support.cluster import wait_for
from support.controller import ControllerFactory, ControllerProcess
from support.nodes import NodeFactory
from support.two_families import both_fixture, family_fixture  # noqa: F401  (fixtures `both`, `family`)

pytestmark = pytest.mark.integration


@pytest.fixture
def system(both: tuple[ControllerFactory, NodeFactory]) -> tuple[ControllerFactory, NodeFactory]:
    return both


def create(controller: ControllerProcess, **attachments: object) -> str:
    response = controller.http.post("/api/tasks", json={"waitForClass": True, "className": "ProgressWorker",
                                                        "attachments": attachments})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def metrics(controller: ControllerProcess, task_id: str) -> dict:
    response = controller.http.get(f"/api/tasks/{task_id}/metrics")
    assert response.status_code == 200, response.text
    return response.json()


def task(controller: ControllerProcess, task_id: str) -> dict:
    return controller.http.get(f"/api/tasks/{task_id}").json()


def prometheus(controller: ControllerProcess) -> str:
    response = controller.http.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


def gauge(text: str, sample: str, **labels: str) -> float | None:
    """The value of `sample{labels}` (those labels among its own, in any order), or None."""
    for line in text.splitlines():
        match = re.match(rf"^{sample}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{key}="{value}"' in match.group(1).split(",") for key, value in labels.items()):
            return float(match.group(2))
    return None


def test_progress_and_metrics_reach_the_api_the_list_and_prometheus(system):
    controllers, nodes = system
    controller = controllers.start()
    nodes.start()
    task_id = create(controller, steps=12, every=0.4, hold=3.0)
    running = wait_for(lambda: (m := metrics(controller, task_id))["latest"] and len(m["series"]) >= 3
                       and m["latest"]["fraction"] > 0 and m, 40, "a series of progress")
    latest = running["latest"]
    assert latest["message"].startswith("step ") and latest["message"].endswith(" of 12")
    assert set(latest["metrics"]) == {"fps", "dropped"} and latest["attempt"] == 1
    assert latest["metrics"]["fps"] >= 24.0
    series = running["series"]
    assert [point["at"] for point in series] == sorted({point["at"] for point in series})  # one per report, in order
    assert series[-1]["fraction"] >= series[0]["fraction"] and running["windowSeconds"] == 3600
    assert {point["attempt"] for point in series} == {1}
    listed = wait_for(lambda: next((item for item in controller.http.get("/api/tasks").json()["items"]
                                    if item["id"] == task_id and item["progress"]), None), 10, "progress in the list")
    assert 0 < listed["progress"] <= 1 and listed["progressMessage"].startswith("step ")
    text = wait_for(lambda: (t := prometheus(controller)) and gauge(t, "skalds_task_metric", task=task_id,
                                                                     name="fps") is not None and t, 10, "gauges")
    assert 0 < gauge(text, "skalds_task_progress", task=task_id, **{"class": "ProgressWorker"}) <= 1
    assert gauge(text, "skalds_task_metric", task=task_id, name="dropped", **{"class": "ProgressWorker"}) >= 0
    assert gauge(text, "skalds_live_tasks", status="Running", **{"class": "ProgressWorker"}) == 1
    assert "skalds_task_metrics_tasks_left_out 0.0" in text
    wait_for(lambda: task(controller, task_id)["lifecycleStatus"] == "Finished", 60, "the task to finish")
    final = wait_for(lambda: (m := metrics(controller, task_id))["latest"]["fraction"] == 1.0 and m, 10, "1.0")
    assert final["latest"]["message"] == "done" and final["latest"]["metrics"] == {"fps": 0.0, "dropped": 11.0}
    assert task(controller, task_id)["progress"] == 1.0
    wait_for(lambda: gauge(prometheus(controller), "skalds_task_metric", task=task_id, name="fps") is None, 20,
             "the ended task's gauges to go")
    text = prometheus(controller)
    assert gauge(text, "skalds_task_run_duration_seconds_count", **{"class": "ProgressWorker"}) == 1
    assert 4 < gauge(text, "skalds_task_run_duration_seconds_sum", **{"class": "ProgressWorker"}) < 60


@pytest.mark.parametrize(("bad", "says"), [
    ("fraction", "progress fraction must be a number from 0 to 1"),
    ("name", "metric name 'bad-name' must match"),
    ("many", "a task reports at most 32 metrics"),
])
def test_an_invalid_report_raises_in_the_worker_with_a_clear_text(system, bad, says):
    controllers, nodes = system
    controller = controllers.start()
    nodes.start()
    task_id = create(controller, bad=bad)
    failed = wait_for(lambda: (t := task(controller, task_id))["lifecycleStatus"] == "Failed" and t, 40, "Failed")
    assert "ValueError" in failed["error"] and says in failed["error"], failed["error"]
    assert metrics(controller, task_id)["latest"] is None  # nothing of the refused report was kept
    wait_for(lambda: gauge(prometheus(controller), "skalds_task_failures_total", **{"class": "ProgressWorker"}) == 1,
             10, "the failure counted (from the change feed)")


def test_the_per_task_gauges_stop_at_their_cap(system):
    controllers, nodes = system
    controller = controllers.start(METRICS_MAX_TASKS="2")
    nodes.start(MAX_CONCURRENT_TASKS="10")
    ids = [create(controller, steps=100, every=0.3) for _ in range(4)]
    text = wait_for(lambda: (t := prometheus(controller)) and "skalds_task_metrics_tasks_left_out 2.0" in t and t,
                    40, "two tasks left out")
    labelled = {task_id for task_id in ids if gauge(text, "skalds_task_metric", task=task_id, name="fps") is not None}
    assert labelled == set(sorted(ids)[:2])  # the first by id, the same on every scrape
    assert all(metrics(controller, task_id)["latest"] for task_id in ids)  # the API still has every task
    for task_id in ids:
        assert controller.http.post(f"/api/tasks/{task_id}/cancel").status_code in (200, 202)
    text = wait_for(lambda: (t := prometheus(controller)) and gauge(t, "skalds_task_cancels_total",
                                                                    **{"class": "ProgressWorker"}) == 4 and t,
                    40, "four cancels counted")
    assert gauge(text, "skalds_task_run_duration_seconds_count", **{"class": "ProgressWorker"}) == 4


def test_a_task_without_reports_has_no_metrics_and_an_unknown_task_is_404(system):
    controllers, _nodes = system
    controller = controllers.start()
    task_id = create(controller)  # no node runs it: it never reports
    assert metrics(controller, task_id) == {"taskId": task_id, "latest": None, "series": [], "windowSeconds": 3600.0}
    assert task(controller, task_id)["progress"] is None
    assert controller.http.get("/api/tasks/no-such-task/metrics").status_code == 404

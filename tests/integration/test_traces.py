"""One trace per task across real processes (controller, node, worker) on the real services and on the
embedded file: each process exports with `OTEL_TRACES_EXPORTER=console`, one JSON line per span on its
stderr. The controller's and node's lines are read from their output; a worker's stderr is its task log,
so its spans are read from GET /api/tasks/{id}/logs (where an operator finds them too)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cluster import wait_for
from support.controller import ControllerFactory, ControllerProcess
from support.failure_logs import print_logs_on_failure
from support.nodes import NodeFactory
from support.services import Endpoints

pytestmark = pytest.mark.integration
TRACING = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "100"}
WORKER_SPANS = ["skalds.worker.initialize", "skalds.worker.before", "skalds.worker.main", "traced.step",
                "skalds.worker.after", "skalds.worker.release"]


@pytest.fixture(params=["services", "embedded"])
def factories(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str],
              tmp_path: Path) -> Iterator[tuple[ControllerFactory, NodeFactory]]:
    """Controllers and nodes on the real services, or on one embedded file."""
    family = tmp_path / "embedded" / "skalds.db" if request.param == "embedded" else None
    made = (ControllerFactory(services, names, tmp_path, embedded=family),
            NodeFactory(services, names, tmp_path, embedded=family))
    try:
        yield made
    finally:
        for kind, factory in zip(("controller", "node"), made, strict=True):
            factory.stop_all()
            print_logs_on_failure(request, {f"{kind} {n}": p.log for n, p in enumerate(factory.started)})


def span_lines(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        if line.startswith("{") and '"otel":"skalds.span"' in line:
            found.append(json.loads(line))
    return found


def run_task(controller: ControllerProcess) -> str:
    response = controller.http.post("/api/tasks", json={"waitForClass": True, "className": "TracedWorker",
                                                        "attachments": {"seconds": 0.05}})
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    wait_for(lambda: controller.http.get(f"/api/tasks/{task_id}").json()["lifecycleStatus"] == "Finished", 60,
             f"{task_id} to finish")
    return task_id


def worker_spans(controller: ControllerProcess, task_id: str) -> list[dict]:
    lines = controller.http.get(f"/api/tasks/{task_id}/logs", params={"limit": 1000}).json()["lines"]
    return span_lines("\n".join(line["text"] for line in lines))


def test_a_task_is_one_trace_from_the_api_to_the_worker_hooks(factories):
    controller_factory, node_factory = factories
    controller = controller_factory.start(**TRACING)
    node = node_factory.start(**TRACING)
    task_id = run_task(controller)
    spans_of_worker = wait_for(lambda: (found := worker_spans(controller, task_id))
                               and len(found) >= len(WORKER_SPANS) and found, 30, "the worker's spans")

    def all_spans() -> dict[str, dict]:
        spans = span_lines(controller.log()) + span_lines(node.log()) + spans_of_worker
        return {span["name"]: span for span in spans
                if span["name"] in WORKER_SPANS or span["attributes"].get("task.id") == task_id}

    wanted = ["skalds.task.create", "skalds.task.dispatch", "skalds.event.publish", "skalds.task.start",
              *WORKER_SPANS]
    spans = wait_for(lambda: (found := all_spans()) and set(wanted) <= set(found) and found, 30,
                     "every span of the task")
    assert len({spans[name]["traceId"] for name in wanted}) == 1, {name: spans[name]["traceId"] for name in wanted}
    parents = {"skalds.task.dispatch": "skalds.task.create", "skalds.event.publish": "skalds.task.dispatch",
               "skalds.task.start": "skalds.event.publish", "traced.step": "skalds.worker.main",
               **{name: "skalds.task.start" for name in WORKER_SPANS if name != "traced.step"}}
    for child, parent in parents.items():
        assert spans[child]["parentSpanId"] == spans[parent]["spanId"], (child, parent)
    starts = [spans[name]["start"] for name in wanted if name != "traced.step"]
    assert starts == sorted(starts), [name for name in wanted]
    assert {spans[name]["service"] for name in wanted} == {"skalds-controller", "skalds-node", "skalds-worker"}
    assert spans["skalds.task.start"]["attributes"] == {"task.id": task_id, "task.class": "TracedWorker",
                                                        "task.attempt": 1, "skald.id": node.skald_id}
    assert spans["skalds.worker.main"]["attributes"]["task.attempt"] == 1
    assert spans["traced.step"]["attributes"] == {"step": 1}


def test_tracing_off_prints_no_span(factories):
    controller_factory, node_factory = factories
    controller = controller_factory.start()
    node = node_factory.start()
    task_id = run_task(controller)
    assert span_lines(controller.log()) == [] and span_lines(node.log()) == []
    assert worker_spans(controller, task_id) == []
    assert "traceparent" not in controller.http.get(f"/api/tasks/{task_id}").json()

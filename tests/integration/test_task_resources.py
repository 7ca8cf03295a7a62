"""Resource use and memory limits end to end, on the real services and on the embedded file: a busy worker
shows CPU, one holding 200 MB shows its RSS, in the API, the CLI and the node's figures; a leaking worker
over its `memoryLimitMb` is killed, recorded Failed with the limit's words and retried per its policy, and
its node lives on."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cluster import wait_for
from support.controller import ControllerFactory, ControllerProcess
from support.failure_logs import print_logs_on_failure
from support.families import FAMILIES
from support.nodes import REPO, NodeFactory
from support.services import Endpoints

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
SCRIPT = REPO / "tests" / "support" / "run_resource_node.py"
SKALDS = Path(sys.executable).parent / "skalds"


@pytest.fixture(params=FAMILIES)
def system(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str],
           tmp_path: Path) -> Iterator[tuple[ControllerProcess, NodeFactory]]:
    """A controller and a node factory on the real services or on one embedded file."""
    embedded = tmp_path / "embedded" / "skalds.db" if request.param == "embedded" else None
    controllers = ControllerFactory(services, names, tmp_path, embedded=embedded)
    nodes = NodeFactory(services, names, tmp_path, embedded=embedded)
    try:
        yield controllers.start(), nodes
    finally:
        controllers.stop_all()  # the controller first, as the other family tests do
        nodes.stop_all()
        logs = {f"controller {n}": c.log for n, c in enumerate(controllers.started)}
        print_logs_on_failure(request, {**logs, **{f"node {n.skald_id}": n.log for n in nodes.started}})


def create(controller: ControllerProcess, **body: object) -> str:
    attachments = body.pop("attachments", {})
    response = controller.http.post("/api/tasks", json={"className": "ResourceHogWorker", "attachments": attachments,
                                                        "waitForClass": True, **body})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def task(controller: ControllerProcess, task_id: str) -> dict:
    return controller.http.get(f"/api/tasks/{task_id}").json()


def cli(controller: ControllerProcess, *args: str) -> str:
    result = subprocess.run([str(SKALDS), *args, "--url", controller.url], capture_output=True, text=True,
                            timeout=60, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_busy_and_big_workers_show_cpu_and_rss_in_api_cli_and_node(system):
    controller, nodes = system
    node = nodes.start(script=SCRIPT)
    busy = create(controller, attachments={"busy": True, "seconds": 60})
    big = create(controller, attachments={"holdMb": 200, "seconds": 60})
    spinning = wait_for(lambda: (r := task(controller, busy).get("resources")) and r["cpuPercent"] > 10 and r,
                        30, "the busy worker's CPU above 10 % (of a core it spins on, on a shared machine)")
    assert spinning["processes"] >= 1 and spinning["at"] > 0
    holding = wait_for(lambda: (r := task(controller, big).get("resources")) and r["rssBytes"] > 200 * MIB and r,
                       30, "the big worker's RSS above 200 MiB")
    listed = {item["id"]: item for item in controller.http.get("/api/tasks", params={"pageSize": 100}).json()["items"]}
    assert listed[big]["resources"]["rssBytes"] > 200 * MIB and listed[busy]["resources"]["cpuPercent"] >= 0

    figures = wait_for(lambda: (r := controller.http.get(f"/api/skalds/{node.skald_id}").json().get("resources"))
                       and r["rssBytes"] > holding["rssBytes"] and r["cpuPercent"] > 10 and r, 15,
                       "the node's figures with both workers")
    assert figures["processes"] >= 3 and 0 < figures["memoryAvailableBytes"] <= figures["memoryTotalBytes"]
    assert set(spinning) == {"cpuPercent", "rssBytes", "processes", "at"}
    label = f'{{node="{node.skald_id}"}}'
    metrics = wait_for(lambda: (t := controller.http.get("/metrics").text) and f"skalds_node_running_tasks{label} 2.0"
                       in t and t, 15, "the node's gauges")
    rss = re.search(rf"^skalds_node_rss_bytes{re.escape(label)} (\S+)$", metrics, re.M)
    assert rss and float(rss.group(1)) > 200 * MIB, metrics
    assert re.search(rf"^skalds_node_cpu_percent{re.escape(label)} ", metrics, re.M)
    assert re.search(rf"^skalds_node_memory_available_bytes{re.escape(label)} ", metrics, re.M)

    shown = cli(controller, "task", "show", big)
    assert re.search(r"resources\s+CPU [\d.]+ %, RSS (\d+)\.\d MiB", shown), shown
    assert int(re.search(r"RSS (\d+)\.\d MiB", shown).group(1)) >= 200  # type: ignore[union-attr]
    listing = cli(controller, "nodes")
    assert node.skald_id in listing and re.search(r"CPU [\d.]+ %, RSS [\d.]+ MiB", listing), listing

    for task_id in (busy, big):
        controller.http.post(f"/api/tasks/{task_id}/cancel")
    wait_for(lambda: task(controller, big)["lifecycleStatus"] == "Cancelled", 30, "the big worker cancelled")
    assert task(controller, big).get("resources") is None  # figures are of running tasks only


def test_a_leaking_worker_is_killed_at_its_limit_failed_and_retried(system):
    controller, nodes = system
    node = nodes.start(script=SCRIPT)
    task_id = create(controller, attachments={"leakMbPerSecond": 100, "seconds": 60}, memoryLimitMb=100,
                     maxRetries=1)
    assert task(controller, task_id)["memoryLimitMb"] == 100
    wording = re.compile(r"^memory limit 100 MiB exceeded \(RSS (\d+) MiB\)$")

    def failed_twice() -> dict | None:
        document = task(controller, task_id)
        return document if document["lifecycleStatus"] == "Failed" and document["retryCount"] == 1 else None

    final = wait_for(failed_twice, 60, "the second attempt Failed too")
    found = wording.match(final["error"])
    assert found and int(found.group(1)) > 100, final["error"]
    assert final["attempt"] >= 2  # the retry policy gave it a new attempt, which hit the limit again

    def failures() -> list[dict]:  # a node writes the document first, then its history: the entry follows
        history = controller.http.get(f"/api/tasks/{task_id}/events").json()["events"]
        return [entry for entry in history if entry.get("status") == "Failed"]

    wait_for(lambda: len(failures()) == 2, 10, "both Failed entries in the history")
    assert node.process.poll() is None  # the node lives on
    assert node.log().count("memory limit 100 MiB exceeded") >= 2
    shown = cli(controller, "task", "show", task_id)
    assert "memoryLimitMb" in shown and "memory limit 100 MiB exceeded" in shown, shown

    after = create(controller, attachments={"seconds": 0.2})  # and still runs work
    wait_for(lambda: task(controller, after)["lifecycleStatus"] == "Finished", 30, "a task after the kills")


def test_memory_limit_is_validated_and_can_be_changed(system):
    controller, _ = system
    for bad in (0, -5, 2**40, "100", 1.5, True, 1e300):
        response = controller.http.post("/api/tasks", json={"className": "ResourceHogWorker", "waitForClass": True,
                                                            "memoryLimitMb": bad})
        assert response.status_code == 422, (bad, response.text)
    task_id = create(controller, attachments={"seconds": 0.1})
    changed = controller.http.put(f"/api/tasks/{task_id}/limits", json={"memoryLimitMb": 256.0})  # an integer
    assert changed.status_code == 200 and changed.json()["memoryLimitMb"] == 256, changed.text
    assert controller.http.put(f"/api/tasks/{task_id}/limits", json={"memoryLimitMb": 0}).status_code == 422
    assert controller.http.put("/api/tasks/no-such/limits", json={"memoryLimitMb": 5}).status_code == 404
    cleared = controller.http.put(f"/api/tasks/{task_id}/limits", json={"memoryLimitMb": None})
    assert cleared.status_code == 200 and cleared.json()["memoryLimitMb"] is None


def test_the_node_default_limit_applies_to_a_task_without_its_own(system):
    controller, nodes = system
    nodes.start(script=SCRIPT, TASK_MEMORY_LIMIT_MB="120")
    leaking = create(controller, attachments={"leakMbPerSecond": 100, "seconds": 60})
    modest = create(controller, attachments={"holdMb": 20, "seconds": 1})
    failed = wait_for(lambda: (d := task(controller, leaking))["lifecycleStatus"] == "Failed" and d, 60, "Failed")
    assert re.match(r"^memory limit 120 MiB exceeded \(RSS \d+ MiB\)$", failed["error"]), failed["error"]
    assert failed["memoryLimitMb"] is None and failed["retryCount"] == 0  # no retries asked for: none made
    wait_for(lambda: task(controller, modest)["lifecycleStatus"] == "Finished", 30, "the modest task Finished")

"""Requests from the API to edge tasks: they reach an edge node with an event connection at once, an edge node
that could not hear them gets a 409 with the reason (never a success that does nothing), a shutdown never
undoes a cancel, and a malformed YAML file stops `skalds edge` with a one-line reason."""

import os
import signal
import subprocess

import pytest
from cli.runner import SKALDS

from support.cluster import wait_for

pytestmark = pytest.mark.integration

YAML = """\
TaskWorkers:
  {task_id}:
    className: {cls}
    attachments:
      seconds: 120
"""
SLOW_RECONCILE = "60"  # so that only an event can carry a request to the edge node within the test's waits


def start_edge(nodes, tmp_path, task_id, cls="SleepWorker", **overrides):
    yaml_file = tmp_path / f"{task_id}.yml"
    yaml_file.write_text(YAML.format(task_id=task_id, cls=cls))
    return nodes.start(SKALD_MODE="edge", YAML_FILE=str(yaml_file), RECONCILE_PERIOD=SLOW_RECONCILE, **overrides)


def api_state(controller, task_id):
    return controller.http.get(f"/api/tasks/{task_id}").json()


def test_cancel_pause_and_resume_reach_an_edge_node_by_its_events(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    start_edge(nodes, tmp_path, "edge-ev")
    cluster.wait_status("edge-ev", "Running")
    assert controller.http.post("/api/tasks/edge-ev/pause").status_code == 202
    cluster.wait_status("edge-ev", "Paused", timeout=8)
    assert controller.http.post("/api/tasks/edge-ev/resume").status_code == 202
    cluster.wait_status("edge-ev", "Running", timeout=8)
    assert controller.http.post("/api/tasks/edge-ev/cancel").status_code == 202
    cluster.wait_status("edge-ev", "Cancelled", timeout=8)


def test_requests_for_the_task_of_an_offline_edge_node_are_refused_with_the_reason(controllers, nodes, cluster,
                                                                                   tmp_path):
    controller = controllers.start()
    edge = start_edge(nodes, tmp_path, "edge-off")
    version = cluster.wait_status("edge-off", "Running").get("attachmentsVersion", 0)
    os.killpg(edge.process.pid, signal.SIGKILL)  # the node and its workers: nothing is left to hear a request
    wait_for(lambda: controller.http.get(f"/api/skalds/{edge.skald_id}").json().get("status") == "offline", 30,
             "the edge node to be offline")
    for method, path, body in (("post", "cancel", None), ("post", "pause", None),
                               ("put", "attachments", {"attachments": {"seconds": 1}})):
        response = getattr(controller.http, method)(f"/api/tasks/edge-off/{path}", json=body)
        assert response.status_code == 409, (path, response.status_code, response.text)
        assert f"edge node {edge.skald_id} is offline" in response.json()["error"]
    document = cluster.doc("edge-off")
    assert document.get("desiredStatus", "Running") == "Running" and document.get("attachmentsVersion", 0) == version


def test_an_edge_node_that_shuts_down_never_turns_a_cancelled_task_back_into_created(nodes, cluster, tmp_path):
    edge = start_edge(nodes, tmp_path, "edge-bye")
    cluster.wait_status("edge-bye", "Running")
    cluster.desire("edge-bye", "Cancelled")  # stored, not yet carried out (no event; the reconcile is far off)
    assert edge.terminate() == 0
    document = cluster.wait_status("edge-bye", "Cancelled", "Created", timeout=10)
    assert document["lifecycleStatus"] == "Cancelled" and document["executor"] is None


def test_a_malformed_yaml_file_makes_skalds_edge_exit_2_with_one_line(nodes, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("TaskWorkers:\n  a:\n    className: SleepWorker\n   attachments: [1, 2\n")
    result = subprocess.run([str(SKALDS), "edge", "--yaml", str(bad), "-w", "support.workers:SleepWorker"],
                            env=nodes.env("edge-bad-yaml"), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not valid YAML" in lines[0] and "line 4" in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr

"""Task logs end to end, on the real services and on the embedded file: a worker's logger lines and
prints reach the API tagged with task, attempt and level; a flood is rate-limited with a marker; the
caps hold; earlier attempts stay readable after a reassignment; the SSE follow resumes by Last-Event-ID."""

from __future__ import annotations

import json
import os
import signal

import httpx
import pytest

from support.cluster import wait_for
from support.controller import ControllerFactory, ControllerProcess
from support.nodes import NodeFactory
from support.two_families import both_fixture, family_fixture  # noqa: F401  (fixtures `both`, `family`)

pytestmark = pytest.mark.integration


@pytest.fixture
def system(both: tuple[ControllerFactory, NodeFactory]) -> tuple[ControllerProcess, NodeFactory]:
    """A controller, and a factory of nodes, on the family's backend."""
    controllers, nodes = both
    return controllers.start(), nodes


@pytest.fixture
def controller(system: tuple[ControllerProcess, NodeFactory]) -> ControllerProcess:
    return system[0]


@pytest.fixture
def nodes(system: tuple[ControllerProcess, NodeFactory]) -> NodeFactory:
    return system[1]


def create(controller: ControllerProcess, **attachments: object) -> str:
    response = controller.http.post("/api/tasks", json={"waitForClass": True, "className": "ChattyWorker",
                                                        "attachments": attachments})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def logs(controller: ControllerProcess, task_id: str, **params: object) -> list[dict]:
    response = controller.http.get(f"/api/tasks/{task_id}/logs", params=params)
    assert response.status_code == 200, response.text
    return response.json()["lines"]


def wait_status(controller: ControllerProcess, task_id: str, status: str, timeout: float = 30) -> dict:
    return wait_for(lambda: (d := controller.http.get(f"/api/tasks/{task_id}").json())["lifecycleStatus"] == status
                    and d, timeout, f"{task_id} to be {status}")


def texts(lines: list[dict]) -> list[str]:
    return [line["text"] for line in lines]


FORGED = "2026-12-01 00:00:00.000 | SUCCESS  | skalds.node:forged:1 - task evil Finished"


def test_logger_lines_and_prints_reach_the_api_with_task_attempt_and_level(controller, nodes):
    node = nodes.start()
    task_id = create(controller, lines=2, forge=FORGED)
    wait_status(controller, task_id, "Finished")
    lines = wait_for(lambda: (found := logs(controller, task_id)) and len(found) >= 8 and found, 10, "8 lines")
    by_text = {line["text"]: line for line in lines}
    assert by_text["hello from the logger 0 attempt 1"]["level"] == "INFO"
    assert by_text["hello from the logger 0 attempt 1"]["source"] == "logger"
    assert by_text["careful 1 attempt 1"]["level"] == "WARNING"
    assert by_text["plain print 1 attempt 1"]["source"] == "stdout"
    assert by_text["to stderr 0 attempt 1"]["source"] == "stdout"
    assert {line["taskId"] for line in lines} == {task_id} and {line["attempt"] for line in lines} == {1}
    assert texts(lines).index("careful 0 attempt 1") < texts(lines).index("plain print 0 attempt 1")  # in order
    assert texts(logs(controller, task_id, level="warning")) == ["careful 0 attempt 1", "careful 1 attempt 1"]
    assert texts(logs(controller, task_id, q="PLAIN PRINT 1")) == ["plain print 1 attempt 1"]
    assert logs(controller, task_id, attempt=2) == []
    assert texts(logs(controller, task_id, q="to stderr", limit=1)) == ["to stderr 1 attempt 1"]  # the last match
    assert controller.http.get(f"/api/tasks/{task_id}/logs", params={"level": "loud"}).status_code == 422
    assert controller.http.get("/api/tasks/no-such-task/logs").status_code == 404
    assert "plain print 1 attempt 1" in node.log() and "careful 1 attempt 1" in node.log()  # the node's own log
    assert f"evil\n{FORGED}" in texts(lines)  # the API keeps the text as written
    assert not any(row.startswith(FORGED[:23]) for row in node.log().splitlines())  # no forged node line
    assert f"evil\\x0d{FORGED}\\x1b[2K" in node.log()


def test_a_flooding_worker_is_rate_limited_and_its_log_capped(controller, nodes):
    node = nodes.start(TASK_LOG_LINES_PER_SECOND="200", TASK_LOG_MAX_LINES="300")
    flood = create(controller, lines=0, flood=20000, seconds=1.0)
    quiet = create(controller, lines=1)
    wait_status(controller, quiet, "Finished")  # the node keeps working beside the flood
    wait_status(controller, flood, "Finished")
    lines = wait_for(lambda: (found := logs(controller, flood, limit=5000)) and any(line["text"].startswith("tick")
                                                                          for line in found) and found, 10, "a tick")
    markers = [line for line in lines if "lines dropped" in line["text"]]
    assert markers and markers[0]["source"] == "skalds" and markers[0]["level"] == "WARNING"
    dropped = sum(int(line["text"].split()[0]) for line in markers)
    assert dropped > 15000, markers
    assert len(lines) <= 300 + 110  # MAXLEN ~ trims whole stream nodes (100 entries)
    gauge = f'skalds_node_log_lines_dropped{{node="{node.skald_id}"}} '

    def exported() -> float:
        found = [line for line in controller.http.get("/metrics").text.splitlines() if line.startswith(gauge)]
        return float(found[0].split()[-1]) if found else 0.0
    wait_for(lambda: exported() >= dropped, 15, "the node's drops on /metrics")  # some markers may be trimmed


def test_the_byte_cap_keeps_the_newest_lines(controller, nodes):
    nodes.start(TASK_LOG_MAX_BYTES="8192")
    task_id = create(controller, lines=0, flood=300, width=200)
    wait_status(controller, task_id, "Finished")
    lines = wait_for(lambda: (found := logs(controller, task_id, limit=5000)) and any(
        line["text"].startswith("flood 299") for line in found) and found, 10, "the last line")
    assert sum(len(line["text"]) for line in lines) <= 8192
    assert len(lines) >= 20


def test_earlier_attempts_stay_readable_after_a_reassignment(controller, nodes):
    first, second = nodes.start("logs-a"), nodes.start("logs-b")
    task_id = create(controller, lines=1, seconds=300, every=0.2)
    running = wait_status(controller, task_id, "Running")
    wait_for(lambda: any(t.startswith("tick 2 attempt 1") for t in texts(logs(controller, task_id))), 15, "ticks")
    victim = first if running["executor"] == first.skald_id else second
    os.killpg(victim.process.pid, signal.SIGKILL)
    wait_for(lambda: any("attempt 2" in t for t in texts(logs(controller, task_id, attempt=2))), 60,
             "the second attempt's lines")
    earlier = logs(controller, task_id, attempt=1)
    assert "hello from the logger 0 attempt 1" in texts(earlier) and {line["attempt"] for line in earlier} == {1}
    assert {line["attempt"] for line in logs(controller, task_id, limit=5000)} == {1, 2}


def _events(controller: ControllerProcess, task_id: str, count: int, headers: dict[str, str] | None = None
            ) -> list[tuple[str, dict]]:
    """The first `count` messages of the task's log stream: (id, line)."""
    found: list[tuple[str, dict]] = []
    with httpx.Client(base_url=controller.url, timeout=20) as client, \
            client.stream("GET", f"/api/tasks/{task_id}/logs/stream", headers=headers or {}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event_id = None
        for row in response.iter_lines():
            if row.startswith("id: "):
                event_id = row[4:]
            elif row.startswith("data: "):
                found.append((event_id or "", json.loads(row[6:])))
                if len(found) == count:
                    break
    return found


def test_the_stream_follows_and_resumes_after_last_event_id(controller, nodes):
    nodes.start()
    task_id = create(controller, lines=0, seconds=60, every=0.1)
    wait_status(controller, task_id, "Running")
    first = _events(controller, task_id, 6)
    assert [line["text"].split()[:2] for _, line in first][:1] and all(i == line["id"] for i, line in first)
    ticks = [int(line["text"].split()[1]) for _, line in first]
    assert ticks == sorted(ticks) and len(set(ticks)) == 6  # followed live, in order, no repeats
    resumed = _events(controller, task_id, 2, {"Last-Event-ID": first[2][0]})
    assert [line["text"] for _, line in resumed] == [line["text"] for _, line in first[3:5]]
    tail = _events(controller, task_id, 1, {"Last-Event-ID": "not-an-id"})  # garbage: starts with the last lines
    assert tail[0][1]["text"].startswith("tick")

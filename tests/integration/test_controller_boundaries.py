"""What enters the controller is bounded and validated where it enters: request bodies, the bind address,
and documents read from the store (one bad document never stops a cycle or a page)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from support.cluster import wait_for

pytestmark = pytest.mark.integration


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _raw_post(port: int, headers: str, body_chunks: list[bytes]) -> bytes:
    """A POST without authentication, written by hand so the test never holds the body in memory."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /api/tasks HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the controller refused and closed: what we want
        return sock.recv(65536)


def test_a_huge_unauthenticated_body_is_refused_before_it_is_read(controllers, cluster):
    controller = controllers.start(token="admin-secret")
    before = _rss_mib(controller.process.pid)
    declared = _raw_post(controller.port, "Content-Type: application/json\r\nContent-Length: 209715200\r\n",
                         [b"x" * 65536] * 40)
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
    chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"  # chunked: no length declared, 64 KiB a chunk
    streamed = _raw_post(controller.port, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                         [chunk] * 80)
    assert streamed.startswith(b"HTTP/1.1 413"), streamed[:200]
    assert _rss_mib(controller.process.pid) - before < 30
    small = controller.http.post("/api/tasks", json={"waitForClass": True, "className": "SleepWorker"})
    assert small.status_code == 201  # an ordinary request still passes


def test_an_empty_bind_address_counts_as_a_network_address(controllers, cluster):
    controller = controllers.start(wait=False, SYSTEM_CONTROLLER_HOST="")
    assert controller.process.wait(30) == 2
    assert "refusing to serve an open API" in controller.log()


def test_bad_documents_are_skipped_listed_and_counted_while_everything_else_works(controllers, nodes, cluster):
    tasks = cluster.store.tasks
    tasks.insert_many([
        {"_id": "p-attempt", "id": "p-attempt", "className": "SleepWorker", "lifecycleStatus": "Created",
         "mode": "Passive", "attempt": "abc", "priority": 9, "createDateTime": 1},
        {"_id": "p-executor", "id": "p-executor", "className": "SleepWorker", "lifecycleStatus": "Running",
         "mode": "Passive", "executor": ["a", "b"], "attempt": 1},
        {"_id": "p-no-id", "className": "SleepWorker", "lifecycleStatus": "Created", "mode": "Passive"},
        {"_id": "p-date", "id": "p-date", "className": "SleepWorker", "lifecycleStatus": "Created",
         "mode": "Passive", "createDateTime": "yesterday"},
    ])
    controller = controllers.start()
    nodes.start("poison-a")
    created = controller.http.post("/api/tasks", json={"waitForClass": True, "id": "good", "className": "SleepWorker",
                                                        "attachments": {"seconds": 60}})
    assert created.status_code == 201
    # The dispatcher still dispatches (before: every pass failed on attempt "abc").
    wait_for(lambda: controller.http.get("/api/tasks/good").json()["lifecycleStatus"] == "Running", 20, "running")
    page = controller.http.get("/api/tasks", params={"pageSize": 100})
    assert page.status_code == 200  # before: 500 for the document without an id or with a text date
    assert {item["id"] for item in page.json()["items"]} == {"good"}
    problems = wait_for(lambda: (found := controller.http.get("/api/system/problems").json())["total"] >= 4
                        and found, 10, "the problems listed")
    listed = {problem["taskId"]: problem["reason"] for problem in problems["problems"]}
    assert set(listed) == {"p-attempt", "p-executor", "p-date", "(no id)"}
    assert "attempt is 'abc'" in listed["p-attempt"]
    metrics = controller.http.get("/metrics").text
    assert "skalds_invalid_task_documents 4.0" in metrics
    # The monitor still judges: a killed node's task is declared lost and runs again elsewhere.
    nodes.started[0].kill()
    nodes.start("poison-b")
    wait_for(lambda: (task := controller.http.get("/api/tasks/good").json())["executor"] == "poison-b"
             and task["lifecycleStatus"] == "Running", 30, "the task moved to the second node")
    time.sleep(0.5)
    assert controller.process.poll() is None

"""What the API shows of a task whose request is under way, on real services with real processes: `Cancelling`
from the request until the worker's process is gone, then `Cancelled` (the escalations in the history with their
times, and the states on the SSE stream); `Pausing` until the node has stopped the process; the user's last request
is the one carried out."""

import json
import os
import signal
import threading
import time

import pytest

from support.cluster import wait_for
from support.processes import alive

pytestmark = pytest.mark.integration


def task(controller, task_id):
    return controller.http.get(f"/api/tasks/{task_id}").json()


def create_running(controller, class_name, task_id):
    body = {"id": task_id, "className": class_name, "waitForClass": True, "attachments": {"seconds": 120}}
    assert controller.http.post("/api/tasks", json=body).status_code == 201
    return wait_for(lambda: (t := task(controller, task_id))["lifecycleStatus"] == "Running" and t, 30, "Running")


def sse_states(controller, task_id, until, seconds=30):
    """The `state` of every SSE message about `task_id`, collected on a thread until `until` is among them."""
    import httpx

    states: list[str] = []

    def listen():
        with httpx.stream("GET", controller.url + "/api/events/tasks", timeout=seconds + 5) as response:
            deadline = time.monotonic() + seconds
            for line in response.iter_lines():
                if line.startswith("data: "):
                    envelope = json.loads(line[6:])
                    if envelope.get("taskId") == task_id and "state" in (envelope.get("data") or {}):
                        states.append(envelope["data"]["state"])
                if until in states or time.monotonic() > deadline:
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(1)  # connected
    return states, thread


def test_a_cancel_shows_cancelling_until_the_process_is_gone_then_cancelled(controllers, nodes, cluster):
    controller = controllers.start()
    nodes.start()
    running = create_running(controller, "StubbornWorker", "deaf")  # ends only by SIGKILL: 1 s + 2 s here
    states, listener = sse_states(controller, "deaf", "Cancelled")
    answer = controller.http.post("/api/tasks/deaf/cancel")
    assert answer.status_code == 202 and answer.json()["data"]["state"] == "Cancelling", answer.text
    seen = []
    while (now := task(controller, "deaf"))["state"] != "Cancelled":
        seen.append((now["state"], now["lifecycleStatus"]))
        time.sleep(0.1)
        assert len(seen) < 200, seen[-3:]
    assert len(seen) > 10 and set(seen) == {("Cancelling", "Running")}, seen  # ~3 s of it, and nothing else
    assert now["lifecycleStatus"] == "Cancelled" and now["exitCode"] == -9 and now["attempt"] == running["attempt"]
    listener.join(15)
    assert states[0] == "Cancelling" and states[-1] == "Cancelled", states
    events = controller.http.get("/api/tasks/deaf/events").json()["events"]
    signals = [entry for entry in events if entry["type"] == "signal"]
    assert [entry["signal"] for entry in signals] == ["SIGTERM", "SIGKILL"], events
    assert signals[0]["at"] < signals[1]["at"] and all(isinstance(entry["at"], int) for entry in signals)


def test_a_pause_shows_pausing_until_the_node_has_stopped_the_process(controllers, nodes, cluster):
    controller = controllers.start()
    node = nodes.start()
    create_running(controller, "SleepWorker", "napper")
    os.kill(node.process.pid, signal.SIGSTOP)  # the node hears nothing for a moment (its worker runs on)
    try:
        answer = controller.http.post("/api/tasks/napper/pause")
        assert answer.status_code == 202 and answer.json()["data"]["state"] == "Pausing", answer.text
        time.sleep(0.5)
        shown = task(controller, "napper")
        assert (shown["state"], shown["lifecycleStatus"], shown["desiredStatus"]) == ("Pausing", "Running", "Paused")
    finally:
        os.kill(node.process.pid, signal.SIGCONT)
    paused = wait_for(lambda: (t := task(controller, "napper"))["state"] == "Paused" and t, 15, "Paused")
    assert paused["lifecycleStatus"] == "Paused" and alive(node.process.pid)


def test_a_pause_sent_while_a_resume_is_pending_is_the_last_word(controllers, nodes, cluster):
    """Paused, then resumed and paused again before its node carried out the resume: it stays Paused. The old rule
    answered the second pause as done without storing it, and the node then resumed the task (Running)."""
    controller = controllers.start()
    node = nodes.start()
    create_running(controller, "SleepWorker", "dozer")
    assert controller.http.post("/api/tasks/dozer/pause").status_code in (200, 202)
    wait_for(lambda: task(controller, "dozer")["state"] == "Paused", 15, "Paused")
    os.kill(node.process.pid, signal.SIGSTOP)  # the resume stays pending while the node hears nothing
    try:
        assert controller.http.post("/api/tasks/dozer/resume").status_code in (200, 202)
        assert task(controller, "dozer")["desiredStatus"] == "Running"
        assert controller.http.post("/api/tasks/dozer/pause").status_code in (200, 202)
        assert task(controller, "dozer")["desiredStatus"] == "Paused"
    finally:
        os.kill(node.process.pid, signal.SIGCONT)
    time.sleep(5)  # the node hears both requests and reconciles with the store
    shown = task(controller, "dozer")
    assert (shown["state"], shown["lifecycleStatus"], shown["desiredStatus"]) == ("Paused", "Paused", "Paused"), shown

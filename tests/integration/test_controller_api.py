"""The controller's API contract: authentication, error statuses, SSE, HA and the 0.3.8 surface."""

import json
import signal
import threading
import time

import httpx
import pytest

from support.cluster import wait_for

pytestmark = pytest.mark.integration


def test_error_paths_have_the_right_status_and_a_reason(controllers, cluster):
    controller = controllers.start()
    http = controller.http
    created = http.post("/api/tasks", json={"waitForClass": True,
                                            "id": "dup-1", "className": "SleepWorker", "attachments": {"a": 1}})
    assert created.status_code == 201 and created.headers["location"] == "/api/tasks/dup-1"
    duplicate = http.post("/api/tasks", json={"waitForClass": True, "id": "dup-1", "className": "SleepWorker"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["error"]
    assert http.post("/api/tasks", json={"waitForClass": True, "attachments": {}}).status_code == 422
    assert http.post("/api/tasks", json={"waitForClass": True, "className": "W", "priority": 11}).status_code == 422
    malformed = http.post("/api/tasks", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 422
    assert http.post("/api/tasks", json={"waitForClass": True,
                                         "className": "W", "id": "bad id with spaces"}).status_code == 422
    missing = http.get("/api/tasks/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    assert http.get("/api/no-such-route").json()["error"] == "Not Found"
    assert http.put("/api/tasks/dup-1/status", json={"lifecycleStatus": "Finished"}).status_code == 422
    assert http.post("/api/tasks/dup-1/resume").status_code == 409
    assert http.post("/api/tasks/dup-1/retry").status_code == 409
    assert http.get("/api/tasks", params={"sortBy": "__proto__"}).status_code == 400
    assert http.get("/api/tasks", params={"pageSize": 1000}).status_code == 422
    assert http.get("/api/tasks", params={"lifecycleStatus": "Exploded"}).status_code == 422


def test_task_detail_with_attachments_and_literal_id_filter(controllers, cluster):
    controller = controllers.start()
    for task_id in ("cam.1", "cam-1", "camX1", "other"):
        controller.http.post("/api/tasks", json={"waitForClass": True, "id": task_id, "className": "SleepWorker",
                                                 "attachments": {"url": "rtsp://x", "nested": {"k": [1, 2]}}})
    detail = controller.http.get("/api/tasks/cam.1")
    assert detail.status_code == 200 and detail.json()["attachments"]["nested"] == {"k": [1, 2]}
    found = controller.http.get("/api/tasks", params={"id": "cam."}).json()
    assert [item["id"] for item in found["items"]] == ["cam.1"]  # "." is literal, not "any character"
    assert controller.http.get("/api/tasks", params={"id": "(["}).json()["total"] == 0
    page = controller.http.get("/api/tasks/", params={"pageSize": 2, "page": 2, "sortBy": "id",
                                                      "sortOrder": "asc"}).json()
    assert page["total"] == 4 and [item["id"] for item in page["items"]] == ["camX1", "other"]
    assert controller.http.get("/api/tasks/classnames").json() == ["SleepWorker"]


def test_tokens_admin_and_read_only(controllers, cluster):
    controller = controllers.start(token="admin-secret", API_READ_TOKENS="reader-secret")
    anonymous = httpx.Client(base_url=controller.url)
    reader = httpx.Client(base_url=controller.url, headers={"Authorization": "Bearer reader-secret"})
    assert anonymous.get("/api/tasks").status_code == 401
    assert anonymous.get("/api/tasks", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert anonymous.get("/api/system/health").status_code == 200  # for load balancers
    assert reader.get("/api/tasks").status_code == 200
    assert reader.get("/metrics").status_code == 200
    forbidden = reader.post("/api/tasks", json={"waitForClass": True, "className": "SleepWorker"})
    assert forbidden.status_code == 403 and "read-only" in forbidden.json()["error"]
    assert controller.http.post("/api/tasks", json={"waitForClass": True,
                                                    "className": "SleepWorker"}).status_code == 201
    assert anonymous.get("/api/tasks", params={"token": "reader-secret"}).status_code == 200
    assert "admin-secret" not in controller.log() and "reader-secret" not in controller.log()


def test_open_api_on_a_network_address_is_refused(controllers, cluster):
    controller = controllers.start(wait=False, SYSTEM_CONTROLLER_HOST="0.0.0.0")
    assert controller.process.wait(30) == 2
    assert "refusing to serve an open API" in controller.log()
    allowed = controllers.start(SYSTEM_CONTROLLER_HOST="0.0.0.0", API_ALLOW_OPEN="true")
    assert allowed.http.get("/api/tasks").status_code == 200


def test_cors_only_for_configured_origins(controllers, cluster):
    controller = controllers.start(API_CORS_ORIGINS="http://good.example")
    good = controller.http.options("/api/tasks", headers={"Origin": "http://good.example",
                                                          "Access-Control-Request-Method": "GET"})
    assert good.headers.get("access-control-allow-origin") == "http://good.example"
    bad = controller.http.get("/api/tasks", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in bad.headers


def read_sse(url, headers, stop_after, seconds, during=None):
    """Collect SSE messages (as dicts with id/event/data) for up to `seconds`; `during` runs once connected."""
    messages, current = [], {}
    with httpx.stream("GET", url, headers=headers, timeout=seconds + 5) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        deadline = time.monotonic() + seconds
        for line in response.iter_lines():
            if line == "":
                if current:
                    messages.append(current)
                    current = {}
                    if stop_after(messages):
                        break
                    if during is not None:
                        during()
                        during = None
            elif line.startswith(":"):
                messages.append({"comment": line})
                if stop_after(messages):
                    break
            else:
                field, _, value = line.partition(": ")
                current[field] = value
            if time.monotonic() > deadline:
                break
    return messages


def kind(message):
    """0.3.8's `type`, inside the envelope: messages are unnamed (no `event:` line)."""
    return json.loads(message["data"])["type"] if "data" in message else None


def test_sse_pushes_task_changes_with_ids_and_resumes(controllers, nodes, cluster):
    controller = controllers.start()
    nodes.start()
    collected = []

    def listen():
        collected.extend(read_sse(controller.url + "/api/events/tasks", {},
                                  lambda ms: any('"Finished"' in m.get("data", "") for m in ms), 30))

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(1)
    task = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                    "className": "SleepWorker", "attachments": {"seconds": 0.5}}).json()
    listener.join(40)
    assert kind(collected[0]) == "connection" and collected[0]["retry"] == "2000"
    assert not any("event" in m for m in collected)
    named = [m for m in collected if kind(m) == "task_status"]
    statuses = [json.loads(m["data"])["data"]["lifecycleStatus"] for m in named]
    assert statuses[-2:] == ["Running", "Finished"], collected
    envelope = json.loads(named[-1]["data"])
    assert envelope["type"] == "task_status" and envelope["taskId"] == task["id"] and "timestamp" in envelope
    ids = [int(m["id"]) for m in collected if "id" in m]
    assert ids == sorted(ids)
    # resume from the event before "Finished": the missed event comes again
    replay = read_sse(controller.url + "/api/events/tasks", {"Last-Event-ID": str(int(named[-1]["id"]) - 1)},
                      lambda ms: named[-1] in ms, 10)
    assert named[-1] in replay
    # a new EventSource cannot send the header: the query parameter resumes the same way
    query = read_sse(controller.url + f"/api/events/tasks?lastEventId={int(named[-1]['id']) - 1}", {},
                     lambda ms: named[-1] in ms, 10)
    assert named[-1] in query
    # an id from before a controller restart (never issued here) starts from now instead of waiting for it
    head = controller.http.get("/api/events/status").json()["lastEventId"]
    ahead = read_sse(controller.url + "/api/events/tasks", {"Last-Event-ID": str(head + 10_000)},
                     lambda ms: any(kind(m) == "task_created" for m in ms), 10,
                     during=lambda: controller.http.post("/api/tasks", json={"waitForClass": True,
                                                                             "className": "SleepWorker"}))
    assert any(kind(m) == "task_created" for m in ahead)


def test_sse_keepalive_comment(controllers, cluster):
    controller = controllers.start(SSE_KEEPALIVE_SECONDS="1")
    messages = read_sse(controller.url + "/api/events/skalds", {}, lambda ms: any("comment" in m for m in ms), 10)
    assert any(m.get("comment", "").startswith(": keep-alive") for m in messages)


def test_second_controller_takes_over_when_the_leader_dies(controllers, nodes, cluster):
    first = controllers.start()
    wait_for(lambda: first.http.get("/api/system/status").json()["leader"], 10, "first to lead")
    second = controllers.start()
    nodes.start()
    assert second.http.get("/api/system/status").json()["leader"] is False
    assert second.http.get("/api/tasks").status_code == 200
    first.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: second.http.get("/api/system/status").json()["leader"], 15, "second to lead")
    assert time.monotonic() - killed < 10
    task = second.http.post("/api/tasks", json={"waitForClass": True,
                                                "className": "SleepWorker", "attachments": {"seconds": 0.2}}).json()
    wait_for(lambda: second.http.get(f"/api/tasks/{task['id']}").json()["lifecycleStatus"] == "Finished", 20,
             "task dispatched by the new leader")


def test_metrics_in_prometheus_format(controllers, nodes, cluster):
    controller = controllers.start()
    nodes.start()
    task = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                    "className": "SleepWorker", "attachments": {"seconds": 0.1}})
    wait_for(lambda: controller.http.get(f"/api/tasks/{task.json()['id']}").json()["lifecycleStatus"] == "Finished",
             20, "finish")
    text = wait_for(lambda: (t := controller.http.get("/metrics").text) and "skalds_tasks{status=\"Finished\"} 1.0"
                    in t and t, 15, "metrics to count the finished task")
    assert "skalds_nodes_online 1.0" in text
    assert "skalds_assignment_latency_seconds_bucket" in text
    assert "skalds_api_request_duration_seconds_bucket" in text
    assert "skalds_reassignments_total" in text


def test_0_3_8_surface(controllers, nodes, cluster):
    controller = controllers.start()
    node = nodes.start()
    wait_for(lambda: controller.http.get("/api/skalds").json()["total"] == 1, 10, "node seen")
    skald = controller.http.get(f"/api/skalds/{node.skald_id}").json()
    assert skald["status"] == "online" and "SleepWorker" in skald["supportedTasks"]
    assert isinstance(skald["lastHeartbeat"], str)
    assert controller.http.get("/api/skalds/", params={"type": "node", "status": "online"}).json()["total"] == 1
    assert controller.http.get("/api/skalds/summary/statistics").json()["onlineSkalds"] == 1
    assert controller.http.post(f"/api/skalds/{node.skald_id}/ping").json()["success"] is True
    assert controller.http.get("/api/skalds/nope").status_code == 404
    for path in ("/api", "/api/system/status", "/api/system/dashboard/summary", "/api/system/config",
                 "/api/system/metrics", "/api/system/analytics/task-distribution",
                 "/api/system/analytics/recent-activity", "/api/system/version", "/api/events/status",
                 "/api/openapi.json"):
        assert controller.http.get(path).status_code == 200, path
    assert controller.http.get("/", follow_redirects=False).status_code == 302
    task = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                    "className": "SleepWorker", "attachments": {"seconds": 30}}).json()
    wait_for(lambda: controller.http.get(f"/api/tasks/{task['id']}").json()["lifecycleStatus"] == "Running", 15, "run")
    beat = controller.http.get(f"/api/tasks/{task['id']}/heartbeat").json()
    assert beat["isAlive"] is True
    deleted = controller.http.delete(f"/api/tasks/{task['id']}")  # a live task: cancelled, as 0.3.8's soft delete
    assert deleted.status_code == 202 and deleted.json()["data"]["desiredStatus"] == "Cancelled"
    assert deleted.json()["message"].startswith("Task cancelled successfully")
    node.wait_log(f"task {task['id']} Cancelled")
    offline_at = time.monotonic()
    node.kill()
    wait_for(lambda: controller.http.get(f"/api/skalds/{node.skald_id}").json()["status"] == "offline", 10,
             "node offline")
    assert time.monotonic() - offline_at <= 6

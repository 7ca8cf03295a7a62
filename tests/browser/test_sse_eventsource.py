"""A real EventSource in headless Chromium against a real controller and node, as 0.3.8's dashboard listened:
`onmessage` only, which receives unnamed messages and nothing with an `event:` name. Both streams must deliver
while a node comes online and a task runs and is cancelled, each message carrying 0.3.8's `type` and our `id:`;
a new connection gets 0.3.8's snapshot (per node skald_status and skald_heartbeat, per task its heartbeat).
"""

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser]

WAIT_MS = 30000

LISTEN = """(key) => {
  window.got = window.got || {};
  window.got[key] = [];
  const stream = key.split(':')[0];
  const source = new EventSource(`/api/events/${stream}`);
  source.onmessage = (message) => {
    const envelope = JSON.parse(message.data);
    window.got[key].push({ type: envelope.type, id: message.lastEventId, envelope });
  };
}"""

HAS = """([key, type, field, value]) => (window.got[key] || []).some((m) => m.type === type
  && (field === null || m.envelope.data[field] === value || m.envelope.taskId === value
      || m.envelope.skaldId === value))"""


def wait_has(page, key, kind, field=None, value=None):
    page.wait_for_function(HAS, arg=[key, kind, field, value], timeout=WAIT_MS)


def received(page, key):
    return page.evaluate("(key) => window.got[key]", key)


def test_onmessage_receives_both_streams_with_types_ids_and_the_snapshot(controllers, nodes, cluster, browser):
    controller = controllers.start()
    context = browser.new_context(base_url=controller.url)
    try:
        page = context.new_page()
        page.goto(controller.url + "/api/system/health")  # same origin as the streams
        for key in ("skalds", "tasks"):
            page.evaluate(LISTEN, key)
            wait_has(page, key, "connection")

        node = nodes.start()
        wait_has(page, "skalds", "skald_status", "status", "online")
        wait_has(page, "skalds", "skald_heartbeat", "skaldId", node.skald_id)
        task = controller.http.post("/api/tasks", json={"id": "sse-long", "className": "SleepWorker",
                                                        "attachments": {"seconds": 120}})
        assert task.status_code == 201, task.text
        wait_has(page, "tasks", "task_status", "lifecycleStatus", "Running")
        wait_has(page, "tasks", "task_heartbeat", "taskId", "sse-long")
        page.wait_for_function("() => window.got.skalds.some((m) => m.type === 'skald_heartbeat'"
                               " && m.envelope.data.tasks.includes('sse-long'))", timeout=WAIT_MS)

        # new connections start with 0.3.8's snapshot of now
        for key in ("skalds:again", "tasks:again"):
            page.evaluate(LISTEN, key)
        wait_has(page, "skalds:again", "skald_heartbeat", "skaldId", node.skald_id)
        wait_has(page, "tasks:again", "task_heartbeat", "taskId", "sse-long")
        skalds_again = received(page, "skalds:again")
        assert [m["type"] for m in skalds_again[:3]] == ["connection", "skald_status", "skald_heartbeat"]
        assert skalds_again[1]["envelope"]["data"] == {"status": "online", "taskCount": 1}
        assert skalds_again[2]["envelope"]["data"]["tasks"] == ["sse-long"]
        tasks_again = received(page, "tasks:again")
        assert tasks_again[1]["type"] == "task_heartbeat"
        assert tasks_again[1]["envelope"]["data"]["lifecycleStatus"] == "Running"

        assert controller.http.post("/api/tasks/sse-long/cancel").status_code in (200, 202)
        wait_has(page, "tasks", "task_status", "lifecycleStatus", "Cancelled")
        skalds, tasks = received(page, "skalds"), received(page, "tasks")
    finally:
        context.close()

    print(f"onmessage deliveries: skalds {len(skalds)}, tasks {len(tasks)}")
    assert {"connection", "skald_status", "skald_heartbeat"} <= {m["type"] for m in skalds}
    task_types = {"connection", "task_created", "task_assigned", "task_status", "task_heartbeat"}
    assert task_types <= {m["type"] for m in tasks}
    for message in skalds[1:] + tasks[1:]:  # everything after the greeting has an id to resume after
        assert message["id"].isdigit(), message
        assert isinstance(message["envelope"]["timestamp"], int) and "data" in message["envelope"]
    assert all("skaldId" in m["envelope"] for m in skalds[1:]) and all("taskId" in m["envelope"] for m in tasks[1:])
    statuses = [m["envelope"]["data"]["lifecycleStatus"] for m in tasks if m["type"] == "task_status"]
    assert statuses[-1] == "Cancelled" and "Running" in statuses

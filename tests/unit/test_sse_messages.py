"""SSE messages as 0.3.8 sent them: unnamed (no `event:` line, so `EventSource.onmessage` gets them), the
kind in the envelope's `type`, and on connect the snapshot 0.3.8's first poll sent. Real monitor, hub and
embedded live state: a node registers, a task is assigned to it and beats."""

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from skalds.config.system_controller_config import SystemControllerConfig
from skalds.system_controller.api.context import ApiContext
from skalds.system_controller.api.events import _opening
from skalds.system_controller.dashboard.timeline import StatusTimeline
from skalds.system_controller.hub import EventHub
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.monitor import Monitor
from skalds.system_controller.policy.cadence import Cadence
from skalds.system_controller.policy.verdicts import LostLimits
from skalds.system_controller.task_service import TaskService
from skalds.transport.node_registry import NodeRegistration, write_registration
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_state import SqliteLiveState
from skalds.transport.sqlite_tasks import SqliteTaskStore
from skalds.transport.wire_names import RedisKey
from support.live_views import view_of

pytestmark = pytest.mark.unit


def parse(text: str) -> list[dict[str, str]]:
    """The SSE wire format, field by field (a line `name: value`; a blank line ends a message)."""
    messages = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if "data" in fields:
            messages.append(fields)
    return messages


@pytest.fixture
def context(tmp_path: Path) -> ApiContext:
    database = SqliteDatabase(tmp_path / "skalds.db")
    store, live = SqliteTaskStore(database), SqliteLiveState(database)
    service, hub = TaskService(store, None), EventHub()
    node = NodeRegistration(skald_id="node-1", mode="node", capacity=4, pid=1, started_ms=0)
    task = service.create(task_id="t-1", class_name="SleepWorker", attachments={})
    service.assign(task, "node-1")
    rereader = view_of(store)
    monitor = Monitor(service, live, hub, ControllerMetrics(), view=rereader.view, refresher=rereader,
                      limits=LostLimits(heartbeat_timeout=6.0, assign_timeout=15.0), cadence=Cadence(1.0, 1.0))
    live.write(lambda batch: write_registration(batch, node, [("t-1", "SleepWorker")], ["SleepWorker"],
                                                now=1_000_000, heartbeat_ttl=30, key_ttl=60))
    live.write(lambda batch: (batch.set(RedisKey.task_heartbeat("t-1"), "42"),
                              batch.set(RedisKey.task_exception("t-1"), "ValueError: bad frame")))
    monitor.cycle(leader=False, now=100.0)
    return ApiContext(config=SystemControllerConfig(), service=service, live=live, hub=hub,
                      metrics=ControllerMetrics(), view=rereader.view,
                      timeline=StatusTimeline(rereader.view.checked_counts), monitor=monitor)


def opening(context: ApiContext, stream: str, last_seq: int, subject: str | None = None) -> str:
    async def collect() -> str:
        head = context.hub.last_seq
        return "".join([part async for part in _opening(context, stream, subject, "hello", last_seq, head)])
    with ThreadPoolExecutor(1) as pool:  # its own thread: a browser test's sync Playwright may hold this one's loop
        return pool.submit(asyncio.run, collect()).result()


def test_hub_messages_are_unnamed_with_the_type_in_the_envelope():
    hub = EventHub()
    hub.publish("tasks", "task_status", "t-9", {"lifecycleStatus": "Running"})
    hub.publish("skalds", "skald_status", "n-9", {"status": "online", "taskCount": 0})
    task, = hub.since(0, "tasks")
    skald, = hub.since(0, "skalds")
    assert "event:" not in task.render() and task.render().startswith("id: 1\ndata: ")
    assert parse(task.render()) == [{"id": "1", "data": task.data}]
    envelope = json.loads(task.data)
    assert envelope["type"] == "task_status" and envelope["taskId"] == "t-9"
    assert envelope["data"] == {"lifecycleStatus": "Running"} and isinstance(envelope["timestamp"], int)
    assert json.loads(skald.data)["skaldId"] == "n-9" and "taskId" not in json.loads(skald.data)


def test_since_returns_what_is_newer_oldest_first_by_stream_and_subject_and_keeps_the_publish_time():
    hub = EventHub(capacity=5)
    for beat in range(8):  # the first three fall out of the ring
        published = int(time.time() * 1000)
        hub.publish("tasks" if beat % 2 else "skalds", "beat", f"s-{beat % 4}", {"beat": beat})
    time.sleep(0.2)
    assert [event.seq for event in hub.since(0, "tasks")] == [4, 6, 8]
    assert [event.seq for event in hub.since(6, "tasks")] == [8]
    assert [event.seq for event in hub.since(0, "skalds", "s-2")] == [7]
    assert hub.since(8, "tasks") == []
    stamp = json.loads(hub.since(7, "tasks")[0].data)["timestamp"]  # encoded now, stamped when published
    assert published <= stamp < published + 150


def test_a_skald_connection_gets_the_greeting_then_status_and_heartbeat_per_node(context):
    text = opening(context, "skalds", context.hub.last_seq)
    assert "event:" not in text and text.startswith("retry: 2000\n")
    first, *snapshot = parse(text)
    assert json.loads(first["data"])["type"] == "connection" and "id" not in first
    envelopes = [json.loads(message["data"]) for message in snapshot]
    assert [(e["type"], e["skaldId"]) for e in envelopes] == [("skald_status", "node-1"), ("skald_heartbeat", "node-1")]
    assert envelopes[0]["data"] == {"status": "online", "taskCount": 1}
    assert envelopes[1]["data"] == {"heartbeat": 1000 % 200, "status": "online", "tasks": ["t-1"]}
    assert {message["id"] for message in snapshot} == {str(context.hub.last_seq)}  # resume after the snapshot
    assert len(parse(opening(context, "skalds", context.hub.last_seq, subject="other-node"))) == 1


def test_a_task_connection_gets_each_watched_tasks_heartbeat_and_exception(context):
    first, *snapshot = parse(opening(context, "tasks", context.hub.last_seq))
    assert json.loads(first["data"])["message"] == "hello"
    envelopes = [json.loads(message["data"]) for message in snapshot]
    assert [(e["type"], e["taskId"], e["data"]) for e in envelopes] == [
        ("task_heartbeat", "t-1", {"heartbeat": 42, "lifecycleStatus": "Assigning"}),
        ("task_exception", "t-1", {"exception": "ValueError: bad frame", "lifecycleStatus": "Assigning"})]


def test_a_resume_replays_what_was_missed_before_the_snapshot(context):
    missed = [event for event in context.hub.since(0, "skalds")]
    assert missed, "the monitor's cycle published the node coming online"
    messages = parse(opening(context, "skalds", 0))
    replayed = messages[1:1 + len(missed)]
    assert [m["id"] for m in replayed] == [str(event.seq) for event in missed]
    assert [json.loads(m["data"])["type"] for m in messages[1 + len(missed):]] == ["skald_status", "skald_heartbeat"]

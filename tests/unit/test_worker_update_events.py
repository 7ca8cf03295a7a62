"""What the controller makes of a `taskworker.update` event (0.3.8's direct worker update): the API's checks."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from skalds.model.event import UpdateTaskWorkerEvent
from skalds.system_controller.worker_updates import MAX_EVENT_BYTES, parse
from skalds.transport.ports import Event

pytestmark = pytest.mark.unit


class Camera(BaseModel):
    rtsp_url: str
    fix_frame: int = 1


def _event(key: str | None, value: object) -> Event:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return Event(topic="taskworker.update", key=key, value=raw)


def test_a_0_3_8_update_event_is_parsed_like_the_apis_attachments() -> None:
    value = UpdateTaskWorkerEvent(attachments=Camera(rtsp_url="rtsp://new", fix_frame=60)).model_dump_json()
    assert parse(Event("taskworker.update", "task_123", value.encode())) == (
        {"rtsp_url": "rtsp://new", "fix_frame": 60}, "")


@pytest.mark.parametrize(("key", "value", "reason"), [
    (None, {"attachments": {}}, "not a task id"),
    ("bad\nid", {"attachments": {}}, "not a task id"),
    ("t", b"{not json", "no usable attachments"),
    ("t", {"attachments": None}, "no usable attachments"),
    ("t", {"attachments": [1, 2]}, "no usable attachments"),
    ("t", {"attachments": {"$set": 1}}, "no usable attachments"),
    ("t", {"attachments": {"a": [[1]]}}, "no usable attachments"),
    ("t", b"x" * (MAX_EVENT_BYTES + 1), "the limit is"),
])
def test_update_events_that_cannot_be_applied_say_why(key: str | None, value: object, reason: str) -> None:
    attachments, why = parse(_event(key, value))
    assert attachments is None and reason in why

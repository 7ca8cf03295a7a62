import json

import pytest
from pydantic import BaseModel, ValidationError

from skalds.model.event import TaskEvent, UpdateTaskWorkerEvent
from skalds.model.task import ModeEnum, Task, TaskLifecycleStatus, TaskWorkerSimpleMapList

pytestmark = pytest.mark.unit


class Cam(BaseModel):
    rtsp_url: str
    fix_frame: int = 1


def test_enums_keep_0_3_8_values():
    assert ModeEnum.list() == ["Active", "Passive", "PassiveProcess"]
    assert TaskLifecycleStatus.list() == ["Created", "Assigning", "Running", "Paused", "Finished", "Failed",
                                          "Cancelled"]


def test_task_defaults_and_camel_case_document():
    task = Task(id="t1", class_name="W", source="test", attachments=Cam(rtsp_url="rtsp://x"))
    document = task.to_document()
    assert document["className"] == "W"
    assert document["lifecycleStatus"] == "Created"
    assert document["mode"] == "Passive"
    assert document["attachments"] == {"rtsp_url": "rtsp://x", "fix_frame": 1}
    assert document["attempt"] == 0
    assert document["deadlineDateTime"] - document["createDateTime"] == pytest.approx(7 * 24 * 3600 * 1000, abs=50)


def test_task_rejects_plain_dict_attachments():
    with pytest.raises(ValidationError, match="attachments must be a Pydantic BaseModel instance"):
        Task(id="t1", className="W", source="test", attachments={"a": 1})


def test_task_priority_bounds():
    with pytest.raises(ValidationError):
        Task(id="t1", className="W", source="s", priority=11)


def test_task_from_document_keeps_raw_attachments_when_not_validated():
    task = Task.from_document({"_id": "x", "id": "t", "className": "W", "source": "s", "attachments": {"a": 1}})
    assert task.attachments == {"a": 1}


@pytest.mark.parametrize("key", ["taskIds", "task_ids"])
def test_task_event_accepts_both_spellings(key):
    event = TaskEvent.model_validate({key: ["a", "b"]})
    assert event.task_ids == ["a", "b"]


def test_task_event_serialises_both_ways():
    event = TaskEvent(task_ids=["t1"])
    assert json.loads(event.model_dump_json(by_alias=True))["taskIds"] == ["t1"]
    assert json.loads(event.model_dump_json())["task_ids"] == ["t1"]


def test_update_event_dumps_field_names():
    event = UpdateTaskWorkerEvent(attachments=Cam(rtsp_url="u", fix_frame=60))
    assert json.loads(event.model_dump_json()) == {"attachments": {"rtsp_url": "u", "fix_frame": 60}}
    with pytest.raises(ValidationError):
        UpdateTaskWorkerEvent(attachments={"rtsp_url": "u"})


def test_simple_map_list_is_serialised_with_snake_case():
    tasks = TaskWorkerSimpleMapList()
    tasks.push("a", "W")
    tasks.push("a", "W")
    tasks.push("b", "V")
    tasks.pop_by_task_id("b")
    data = json.loads(tasks.to_json())
    assert data["tasks"] == [{"id": "a", "class_name": "W"}]
    assert data["existed_task_ids"] == ["a"]

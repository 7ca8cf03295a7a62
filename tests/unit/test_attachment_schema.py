"""The attachments schemas nodes publish, and the controller's check of attachments against them."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from skalds.system_controller.policy.attachment_schema import MAX_ISSUES, check
from skalds.worker.baseclass import BaseTaskWorker
from skalds.worker.registry import MAX_SCHEMA_BYTES, WorkerRegistry

pytestmark = pytest.mark.unit


class Camera(BaseModel):
    url: str = Field(..., description="Where the stream is")
    fps: int = Field(25, ge=1, le=120)


class Job(BaseModel):
    seconds: float = 1.0
    camera: Camera
    tags: list[str] = []


class JobWorker(BaseTaskWorker[Job]):
    pass


class Huge(BaseModel):
    model_config = {"json_schema_extra": {"description": "x" * (MAX_SCHEMA_BYTES + 10)}}
    a: int = 0


class HugeWorker(BaseTaskWorker[Huge]):
    pass


def _schema() -> dict:
    return Job.model_json_schema(by_alias=True)


def test_a_node_publishes_each_class_schema_bounded() -> None:
    registry = WorkerRegistry()
    registry.register(JobWorker)
    registry.register(HugeWorker)
    published = json.loads(registry.schemas_json())
    assert published == {"JobWorker": _schema()}  # the oversized one is left out, not cut


def test_valid_attachments_have_no_issue() -> None:
    assert check({"camera": {"url": "rtsp://x"}, "seconds": 2}, {"node-a": _schema()}) == []


def test_each_field_error_is_listed_with_its_path() -> None:
    issues = check({"seconds": "soon", "camera": {"fps": 500}, "tags": [1]}, {"node-a": _schema()})
    paths = {issue.path: issue.message for issue in issues}
    assert set(paths) == {("seconds",), ("camera", "url"), ("camera", "fps"), ("tags", 0)}
    assert "required" in paths[("camera", "url")] and "500" in paths[("camera", "fps")]
    assert issues[0].detail()["loc"][:2] == ["body", "attachments"]


def test_the_answer_is_bounded() -> None:
    issues = check({"tags": list(range(10_000)), "camera": {"url": "u"}}, {"node-a": _schema()})
    assert len(issues) == MAX_ISSUES
    long = check({"camera": {"url": "u"}, "seconds": "x" * 10_000}, {"node-a": _schema()})
    assert len(long[0].message) <= 300


def test_attachments_must_fit_every_node_schema_and_say_whose() -> None:
    newer = _schema()
    newer["required"] = [*newer.get("required", []), "tags"]
    issues = check({"camera": {"url": "u"}}, {"old": _schema(), "new-1": newer, "new-2": newer})
    assert [(issue.path, issue.nodes) for issue in issues] == [(("tags",), ("new-1", "new-2"))]


def test_no_schema_or_a_broken_one_checks_nothing() -> None:
    assert check({"anything": 1}, {}) == []
    assert check({"anything": 1}, {"node-a": {"type": 7}}) == []

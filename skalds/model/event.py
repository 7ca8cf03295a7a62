"""Kafka payloads. Consumers accept both spellings (`taskIds` and `task_ids`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skalds.model._time import now_ms


class TaskEvent(BaseModel):
    """Payload of task.assign, task.cancel and task.update.attachment (key = task id).

    `attempt` is additive: the controller sets it so a node can ignore an assign for an older
    attempt, and a cancel of an older attempt than the one it runs; 0.3.8 producers leave it out.
    """

    model_config = ConfigDict(populate_by_name=True)

    id: str | None = None
    title: str | None = None
    initiator: str | None = None
    recipient: str | None = None
    create_date_time: int = Field(default_factory=now_ms, alias="createDateTime")
    update_date_time: int = Field(default_factory=now_ms, alias="updateDateTime")
    task_ids: list[str] = Field(..., alias="taskIds")
    attempt: int | None = None


class UpdateTaskWorkerEvent(BaseModel):
    """0.3.8's `taskworker.update` payload: attachments dumped by field name."""

    attachments: Any

    @field_validator("attachments")
    @classmethod
    def _attachments_must_be_model(cls, value: Any) -> Any:
        if not isinstance(value, BaseModel):
            raise ValueError("attachments must be a Pydantic BaseModel instance")
        return value

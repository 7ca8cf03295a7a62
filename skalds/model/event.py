"""Kafka payloads. Consumers accept both spellings (`taskIds` and `task_ids`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skalds.model._time import now_ms
from skalds.model.ids import is_valid_id, shown

MAX_TASK_IDS = 100_000  # a hard bound at parsing; nodes apply their configured, smaller maximum


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
    task_ids: list[str] = Field(..., alias="taskIds", max_length=MAX_TASK_IDS)
    attempt: int | None = None

    @field_validator("task_ids")
    @classmethod
    def _ids_must_be_printable(cls, value: list[str]) -> list[str]:
        for task_id in value:
            if not is_valid_id(task_id):
                raise ValueError(f"task id {shown(task_id)} is not a printable string of 1 to 1000 characters")
        return value

    @field_validator("recipient")
    @classmethod
    def _recipient_must_be_printable(cls, value: str | None) -> str | None:
        if value is not None and value != "" and not is_valid_id(value):
            raise ValueError(f"recipient {shown(value)} is not a printable node id")
        return value


class UpdateTaskWorkerEvent(BaseModel):
    """0.3.8's `taskworker.update` payload: attachments dumped by field name."""

    attachments: Any

    @field_validator("attachments")
    @classmethod
    def _attachments_must_be_model(cls, value: Any) -> Any:
        if not isinstance(value, BaseModel):
            raise ValueError("attachments must be a Pydantic BaseModel instance")
        return value

"""The Task document as stored in MongoDB (`skalds`.`tasks`) and served by the API.

Keys are camelCase on the wire (aliases); Python code uses snake_case. Fields added after
0.3.8 (attempt, attachmentsVersion, error, exitCode, retries) are additive and default so
that 0.3.8 documents still load.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skalds.model._time import now_ms

SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


class _ListableEnum(str, Enum):
    @classmethod
    def list(cls) -> list[str]:
        """The values, once each: iterating an Enum skips aliases (0.3.8's UPPER_CASE names)."""
        return [member.value for member in cls]


class ModeEnum(_ListableEnum):
    """Active: pinned to an edge node by its YAML. Passive: dispatched to nodes. PassiveProcess: single_process."""

    Active = "Active"
    Passive = "Passive"
    PassiveProcess = "PassiveProcess"
    # 0.3.8's names: aliases (the same members), so its code keeps working and nothing is listed twice.
    ACTIVE = "Active"
    PASSIVE = "Passive"
    PASSIVE_PROCESS = "PassiveProcess"


class TaskLifecycleStatus(_ListableEnum):
    Created = "Created"
    Assigning = "Assigning"
    Running = "Running"
    Paused = "Paused"
    Finished = "Finished"
    Failed = "Failed"
    Cancelled = "Cancelled"
    # 0.3.8's names: aliases of the members above.
    CREATED = "Created"
    ASSIGNING = "Assigning"
    RUNNING = "Running"
    PAUSED = "Paused"
    FINISHED = "Finished"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class DesiredStatus(_ListableEnum):
    """What the user asked of a task (`desiredStatus`); `lifecycleStatus` is what its processes did.

    Nodes converge the actual state to it: a cancel or pause the node has not carried out yet is
    *pending*, and a lost event only delays it. A document without the field (0.3.8's) wants to run."""

    Running = "Running"
    Paused = "Paused"
    Cancelled = "Cancelled"


def _values(*statuses: TaskLifecycleStatus) -> frozenset[str]:
    return frozenset(status.value for status in statuses)


# The status sets, defined once (as stored values, so a document's raw field is tested directly).
ACTIVE_STATUSES = _values(TaskLifecycleStatus.Assigning, TaskLifecycleStatus.Running, TaskLifecycleStatus.Paused)
"""Tasks that hold (or are about to hold) a node: what the monitor watches and loads count."""
TERMINAL_STATUSES = _values(TaskLifecycleStatus.Finished, TaskLifecycleStatus.Failed, TaskLifecycleStatus.Cancelled)
"""Tasks that ended: only a retry or restart moves them on."""
STARTABLE_STATUSES = _values(TaskLifecycleStatus.Created, TaskLifecycleStatus.Assigning)
"""Statuses in which a node may start a task it was assigned."""
RETRYABLE_STATUSES = _values(TaskLifecycleStatus.Failed, TaskLifecycleStatus.Cancelled)
"""Statuses from which a user's retry starts the task again."""


class HistoryType(_ListableEnum):
    """The `type` of an entry in a task's history (`task_events`)."""

    CREATED = "created"
    ASSIGNED = "assigned"
    STATUS = "status"
    RELEASED = "released"
    LOST = "lost"
    RETRY = "retry"
    ATTACHMENTS_UPDATED = "attachments_updated"
    ATTACHMENTS_APPLIED = "attachments_applied"
    ATTACHMENTS_REJECTED = "attachments_rejected"
    DESIRED = "desired"  # a user asked for a state its node carries out later (`desiredStatus`)
    HISTORY_TRUNCATED = "history_truncated"  # the oldest entries were dropped (`dropped`: how many in all)
    SIGNAL = "signal"  # a stopping worker was sent SIGTERM or SIGKILL (`signal`, `at` ms, `attempt`, `executor`)
    CHECKPOINT_RESTORED = "checkpoint_restored"  # an attempt starts from a checkpoint (`checkpoint`: attempt, savedAt)


class HeartbeatCode(IntEnum):
    """Terminal values of a task's Redis heartbeat (0..199 is a running counter), as in 0.3.8."""

    FINISHED = 200
    FAILED = -1
    CANCELLED = -2
    SUCCESS = 200  # the names of 0.3.8's `skalds.handler.survive.HeartBeat` (aliases)
    CANCELED = -2

    @classmethod
    def is_running(cls, value: int | None) -> bool:
        return value is not None and 0 <= value < cls.FINISHED


class DisconnectPolicy(BaseModel):
    """What happens to a task while its node is unreachable (additive, `disconnect` on the task).

    `lostAfterSeconds`: how long its node may be silent before the task is moved (never sooner than the
    controller's own timeout and the node's fence time); `replace: false`: never moved while the node is merely
    unreachable (no other copy can start, so the node keeps its worker running through an outage)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", strict=True)  # "no" is not false

    lost_after_seconds: float = Field(0.0, alias="lostAfterSeconds", ge=0, le=7 * 86400)
    replace: bool = True


class Task(BaseModel):
    """One unit of work. `attachments` is the worker's parameter model (a pydantic instance)."""

    model_config = ConfigDict(populate_by_name=True, use_enum_values=True, arbitrary_types_allowed=True)

    id: str
    class_name: str = Field(..., alias="className")
    source: str
    name: str | None = None
    description: str | None = None
    executor: str | None = None
    dependencies: list[str] | None = None
    mode: ModeEnum = ModeEnum.Passive
    is_persistent: bool = Field(True, alias="isPersistent")
    create_date_time: int = Field(default_factory=now_ms, alias="createDateTime")
    update_date_time: int = Field(default_factory=now_ms, alias="updateDateTime")
    deadline_date_time: int = Field(default_factory=lambda: now_ms() + SEVEN_DAYS_MS, alias="deadlineDateTime")
    lifecycle_status: TaskLifecycleStatus = Field(TaskLifecycleStatus.Created, alias="lifecycleStatus")
    desired_status: DesiredStatus = Field(DesiredStatus.Running, alias="desiredStatus")
    priority: int = Field(0, ge=0, le=10)
    attachments: Any = None
    # Additive fields (not in 0.3.8).
    attempt: int = 0
    attachments_version: int = Field(0, alias="attachmentsVersion")
    error: str | None = None
    exit_code: int | None = Field(None, alias="exitCode")
    max_retries: int = Field(0, alias="maxRetries")
    retry_count: int = Field(0, alias="retryCount")
    disconnect: DisconnectPolicy | None = None  # None: the node's default (SkaldConfig disconnect_*)
    memory_limit_mb: int | None = Field(None, alias="memoryLimitMb")  # RSS cap of its worker tree; None: the node's

    @field_validator("memory_limit_mb", mode="before")
    @classmethod
    def _limit_or_none(cls, value: Any) -> Any:
        """A stored limit that is not a positive whole number means none (the API refuses such input)."""
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    @field_validator("attachments")
    @classmethod
    def _attachments_must_be_model(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, BaseModel):
            raise ValueError("attachments must be a Pydantic BaseModel instance")
        return value

    def to_document(self) -> dict[str, Any]:
        """The MongoDB document: aliases, enum values, attachments dumped by alias (0.3.8 format)."""
        document = self.model_dump(by_alias=True, exclude={"attachments"})
        document["attachments"] = attachments_to_dict(self.attachments)
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any], attachments: Any = None) -> Task:
        """Build a Task from a stored document; `attachments` replaces the raw stored value.

        The raw dict is kept on `raw_attachments` when no model is given, so callers that
        cannot validate (the controller) still see what is stored.
        """
        fields = {key: value for key, value in document.items() if key not in ("_id", "attachments")}
        task = cls.model_validate({**fields, "attachments": attachments})
        if attachments is None and document.get("attachments") is not None:
            object.__setattr__(task, "attachments", document.get("attachments"))
        return task


def attachments_to_dict(attachments: Any) -> dict[str, Any] | None:
    if attachments is None:
        return None
    if isinstance(attachments, BaseModel):
        return attachments.model_dump(mode="json", by_alias=True)
    if isinstance(attachments, dict):
        return attachments
    raise TypeError("attachments must be a Pydantic BaseModel instance")


class TaskWorkerSimpleMap(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    class_name: str = Field(..., alias="className")


class TaskWorkerSimpleMapList(BaseModel):
    """The `skalds:{id}:all-task` JSON: serialised by field name, as 0.3.8's monitor expects."""

    model_config = ConfigDict(populate_by_name=True)

    tasks: list[TaskWorkerSimpleMap] = Field(default_factory=list)
    existed_task_ids: list[str] = Field(default_factory=list, alias="existedTaskIds")
    timestamp: int = Field(default_factory=now_ms)

    def push(self, task_id: str, class_name: str) -> None:
        if task_id not in self.existed_task_ids:
            self.tasks.append(TaskWorkerSimpleMap(id=task_id, class_name=class_name))
            self.existed_task_ids.append(task_id)
        self.update_timestamp()

    def pop_by_task_id(self, task_id: str) -> None:
        self.tasks = [task for task in self.tasks if task.id != task_id]
        self.existed_task_ids = [existing for existing in self.existed_task_ids if existing != task_id]
        self.update_timestamp()

    def clear(self) -> None:
        self.tasks.clear()
        self.existed_task_ids.clear()
        self.update_timestamp()

    def keep_specify_tasks(self, task_ids: list[str]) -> None:
        keep = set(task_ids)
        self.tasks = [task for task in self.tasks if task.id in keep]
        self.existed_task_ids = [existing for existing in self.existed_task_ids if existing in keep]
        self.update_timestamp()

    def update_timestamp(self) -> None:
        self.timestamp = max(now_ms(), self.timestamp + 1)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=False)

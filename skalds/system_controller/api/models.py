"""Request and response models (camelCase on the wire, as 0.3.8)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from skalds.model.task import ACTIVE_STATUSES, DisconnectPolicy, HeartbeatCode, TaskLifecycleStatus
from skalds.system_controller.policy.shown_state import shown_state
from skalds.tasks import attachments_view, lifecycle

KEY_PATTERN = r"^([^$.\x00][^.\x00]*)?$"  # what the task stores accept as a key, at any depth
INT64 = 2**63 - 1
ATTACHMENT_SCHEMAS = {  # added to the document's components by `api.openapi`
    "Attachments": {"type": "object", "propertyNames": {"pattern": KEY_PATTERN},
                    "additionalProperties": {"$ref": "#/components/schemas/AttachmentValue"},
                    "description": "Any JSON object whose keys do not start with `$` nor hold `.` or NUL, "
                                   "with numbers that fit 64 bits and no array directly in an array: what "
                                   "every task store can hold"},
    "AttachmentValue": {"anyOf": [{"type": "null"}, {"type": "boolean"}, {"type": "string"},
                                  {"type": "number", "minimum": -INT64 - 1, "maximum": INT64},
                                  {"type": "array", "items": {"$ref": "#/components/schemas/ArrayItem"}},
                                  {"$ref": "#/components/schemas/Attachments"}]},
    "ArrayItem": {"anyOf": [{"type": "null"}, {"type": "boolean"}, {"type": "string"},
                            {"type": "number", "minimum": -INT64 - 1, "maximum": INT64},
                            {"$ref": "#/components/schemas/Attachments"}],
                  "description": "An array's item: not an array itself (FerretDB refuses nested arrays)"},
}


def _storable(attachments: dict[str, Any]) -> dict[str, Any]:
    """Refuses, as a validation error, what the task stores would refuse (iteratively: no recursion limit)."""
    pending: list[Any] = [attachments]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            for key in value:
                if key.startswith("$") or "." in key or "\x00" in key:
                    raise ValueError(f"key {key[:60]!r} starts with '$' or holds '.' or NUL")
            pending.extend(value.values())
        elif isinstance(value, list):
            if any(isinstance(item, list) for item in value):
                raise ValueError("an array holds an array (nested arrays cannot be stored)")
            pending.extend(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and not -INT64 - 1 <= value <= INT64:
            raise ValueError(f"{str(value)[:40]} does not fit 64 bits")
    return attachments


Attachments = Annotated[dict[str, Any], AfterValidator(_storable),
                        WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/Attachments"}]})]


def _whole_number(value: Any) -> Any:
    """An integer as JSON Schema means it (`475.0` is one); never a string or a boolean, which lax mode would take."""
    if isinstance(value, (bool, str)):
        raise ValueError("must be an integer")
    return int(value) if isinstance(value, float) and value.is_integer() else value


MemoryLimit = Annotated[int, Field(ge=1, le=1024 * 1024), BeforeValidator(_whole_number)]
MEMORY_LIMIT_FIELD: Any = Field(None, alias="memoryLimitMb", description=(
    "RSS cap of the worker's process tree in MiB: over it the node kills the worker and records Failed "
    "(the retry policy applies); none = the node's default (SkaldConfig.task_memory_limit_mb)"))


class ResourceFigures(BaseModel):
    """The latest CPU and memory of a task's worker tree (the worker process and its children)."""

    cpuPercent: float  # percent of one core: 200 = two cores busy
    rssBytes: int
    processes: int
    at: int  # ms time of the measurement


class NodeResourceFigures(ResourceFigures):
    """A node process and all its workers together, with the machine's memory."""

    memoryTotalBytes: int
    memoryAvailableBytes: int


class TaskCreateRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    id: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@\-]+$")
    class_name: str = Field(..., alias="className", min_length=1, max_length=200)
    attachments: Attachments = Field(default_factory=dict)
    priority: int = Field(0, ge=0, le=10)
    name: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=5000)
    max_retries: int = Field(0, alias="maxRetries", ge=0, le=100)
    disconnect: DisconnectPolicy | None = Field(None, description=(
        "While its node is unreachable: move the task after lostAfterSeconds (never sooner than the controller's "
        "timeout), or, with replace false, never move it (its node keeps it running); default: its node's"))
    wait_for_class: bool = Field(False, alias="waitForClass", description=(
        "Accept the task although no node has registered its class yet: it waits for one (its attachments are "
        "then checked by the node that starts it)"))
    memory_limit_mb: MemoryLimit | None = MEMORY_LIMIT_FIELD


class TaskLimitsRequest(BaseModel):
    """The task's memory limit (MiB, `null` = the node's default); its next start runs with it."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    memory_limit_mb: MemoryLimit | None = MEMORY_LIMIT_FIELD


class TaskStatusRequest(BaseModel):
    lifecycle_status: Literal["Created", "Cancelled", "Paused", "Running"] = Field(..., alias="lifecycleStatus")


class TaskAttachmentsRequest(BaseModel):
    attachments: Attachments


class CheckpointSummary(BaseModel):
    """When the task's latest checkpoint was saved, by which attempt, how large (bytes of JSON)."""

    savedAt: int
    attempt: int
    sizeBytes: int

    @classmethod
    def of(cls, value: Any) -> CheckpointSummary | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls.model_validate(value)
        except ValueError:  # a document written by hand: shown without it
            return None


UNKNOWN = "Unknown"  # shown while the task's node is silent: not lost (not moved yet), not confirmed either


class TaskResponse(BaseModel):
    """0.3.8's TaskResponse fields first; the rest are additive."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    className: str
    lifecycleStatus: str
    desiredStatus: str = "Running"
    pending: bool = False  # the user's last request is stored; its node has not carried it out yet
    executor: str | None = None
    createDateTime: int = 0
    updateDateTime: int = 0
    mode: str = "Passive"
    attachments: dict[str, Any] | None = None
    heartbeat: int = 0
    error: str | None = None
    exception: str | None = None
    priority: int = 0
    name: str | None = None
    description: str | None = None
    source: str | None = None
    attempt: int = 0
    attachmentsVersion: int = 0
    appliedAttachmentsVersion: int | None = None
    appliedAttachments: dict[str, Any] | None = None  # what its worker last applied (attachments: the desired)
    rejectedAttachmentsVersion: int | None = None
    startsWithVersion: int = 0  # the attachments version a retry or new attempt starts with (never a rejected one)
    exitCode: int | None = None
    maxRetries: int = 0
    retryCount: int = 0
    waitingFor: str | None = None  # "waiting for a node that runs X": a Created task no registered node can run
    statusUnconfirmed: str | None = None  # why its node does not confirm the status now (silent, offline, gone)
    disconnect: dict[str, Any] | None = None  # {lostAfterSeconds, replace}; None: its node's default
    memoryLimitMb: int | None = None
    resources: ResourceFigures | None = None  # its worker tree's latest figures, while it runs
    checkpoint: CheckpointSummary | None = None  # its latest saved checkpoint (the state: /api/tasks/{id}/checkpoint)
    state: str = "Created"  # what to show: Cancelling / Pausing / Retrying while under way, Unknown while its node
    # is silent (not lost yet: its disconnect policy decides when it moves), else lifecycleStatus
    nextAttemptAt: int | None = None  # ms: when a Retrying task goes back to Created
    progress: float | None = None  # the fraction its worker last reported (report_progress), 0 to 1
    progressMessage: str | None = None

    @classmethod
    def from_document(cls, document: dict[str, Any], heartbeat: int | None = None,
                      exception: str | None = None, known_classes: set[str] | None = None,
                      unconfirmed: str | None = None, resources: dict[str, float | int] | None = None,
                      progress: dict[str, Any] | None = None, retry_backoff_ms: int | None = None) -> TaskResponse:
        """`known_classes`: the classes registered nodes run (None: not known, nothing said of waiting);
        `unconfirmed`: why the task's node does not confirm its status now (see `policy.confirmation`);
        `progress`: its latest progress sample (see `model.progress`); `retry_backoff_ms`: the controller's retry
        backoff, to show a Failed task waiting for its retry."""
        attachments, class_name = document.get("attachments"), document.get("className", "")
        applied_values, _ = attachments_view.applied(document)
        waiting = (known_classes is not None and class_name not in known_classes
                   and document.get("lifecycleStatus") == TaskLifecycleStatus.Created.value)
        shown = shown_state(document, retry_backoff_ms)
        return cls(
            id=document["id"], className=class_name,
            lifecycleStatus=document.get("lifecycleStatus", "Created"), executor=document.get("executor"),
            desiredStatus=lifecycle.desired(document), pending=lifecycle.is_pending(document),
            createDateTime=int(document.get("createDateTime") or 0),
            updateDateTime=int(document.get("updateDateTime") or 0), mode=document.get("mode", "Passive"),
            attachments=attachments if isinstance(attachments, dict) else None,
            heartbeat=heartbeat if heartbeat is not None else (
                HeartbeatCode.FINISHED if document.get("lifecycleStatus") == TaskLifecycleStatus.Finished.value else 0),
            error=document.get("error"), exception=exception, priority=int(document.get("priority") or 0),
            name=document.get("name"), description=document.get("description"), source=document.get("source"),
            attempt=int(document.get("attempt") or 0),
            attachmentsVersion=int(document.get("attachmentsVersion") or 0),
            appliedAttachmentsVersion=document.get("appliedAttachmentsVersion"), appliedAttachments=applied_values,
            rejectedAttachmentsVersion=document.get("rejectedAttachmentsVersion"),
            startsWithVersion=attachments_view.start_attachments(document)[1],
            exitCode=document.get("exitCode"), maxRetries=int(document.get("maxRetries") or 0),
            retryCount=int(document.get("retryCount") or 0),
            waitingFor=f"waiting for a node that runs {class_name}" if waiting else None,
            statusUnconfirmed=unconfirmed, nextAttemptAt=shown.next_attempt_at,
            state=UNKNOWN if unconfirmed and shown.state == document.get("lifecycleStatus") else shown.state,
            checkpoint=CheckpointSummary.of(document.get("checkpoint")),
            disconnect=document.get("disconnect") if isinstance(document.get("disconnect"), dict) else None,
            memoryLimitMb=document.get("memoryLimitMb") if isinstance(document.get("memoryLimitMb"), int) else None,
            resources=ResourceFigures.model_validate(resources)
            if resources and document.get("lifecycleStatus") in ACTIVE_STATUSES else None,
            progress=(progress or {}).get("fraction"), progressMessage=(progress or {}).get("message"),
        )


class TaskPage(BaseModel):
    """0.3.8's page, plus the cursor of the next page (None on the last) and whether `total` is a lower bound
    (a count of stored history stops at a cap, see skalds/tasks/paging.py)."""

    items: list[TaskResponse]
    total: int
    page: int
    pageSize: int
    nextCursor: str | None = None
    totalIsLowerBound: bool = False


class ActionResponse(BaseModel):
    success: bool = True
    message: str
    data: dict[str, Any]


class SkaldResponse(BaseModel):
    id: str
    type: str
    status: str
    lastHeartbeat: str
    supportedTasks: list[str]
    currentTasks: list[str]
    heartbeat: int
    taskCount: int
    capacity: int = 0
    heartbeatAgeMs: int = 0
    drainState: Literal["cordoned", "draining", "drained"] | None = None  # None: it takes new tasks
    drainDeadline: int | None = None  # ms: a drain stops what is left at this time
    resources: NodeResourceFigures | None = None  # None from an older node


class SkaldList(BaseModel):
    items: list[SkaldResponse]
    total: int


class ClassSchemaResponse(BaseModel):
    """A worker class the registered nodes run, with the JSON Schema of its attachments."""

    className: str
    nodes: list[str]  # the registered nodes that run it
    attachmentsSchema: dict[str, Any] | None = None  # None: none of them published one (older nodes)
    variants: int = 0  # how many different schemas they published (attachments must fit every one)

"""/api/tasks: 0.3.8's list, detail, status, attachments, delete and heartbeat, plus create and actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from skalds.model.task import TERMINAL_STATUSES, HeartbeatCode, TaskLifecycleStatus
from skalds.system_controller.api.classes import check_attachments, refuse_unknown_class
from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.models import (
    ActionResponse,
    TaskAttachmentsRequest,
    TaskCreateRequest,
    TaskLimitsRequest,
    TaskPage,
    TaskResponse,
    TaskStatusRequest,
)
from skalds.system_controller.api.responses import ADMIN, BODY, READ, errors
from skalds.system_controller.api.security import require_admin, require_read
from skalds.system_controller.api.task_metrics import latest_progress
from skalds.system_controller.policy import confirmation
from skalds.system_controller.task_service import TaskActionError
from skalds.tasks import lifecycle, paging, queries
from skalds.tasks.problems import PROBLEMS
from skalds.tasks.validation import problem_of
from skalds.telemetry import flow
from skalds.transport.node_registry import TASK_FIGURES, resource_figures
from skalds.transport.wire_names import RedisKey

S = TaskLifecycleStatus
router = APIRouter(prefix="/api/tasks", tags=["tasks"])
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": ActionResponse, "description": "Stored; pending until the task's node has carried it out"}}
ONE = {**READ, **errors(404, 409, 422)}  # a read of one task (409: its stored document cannot be used)
ACTION = {**ACCEPTED, **ADMIN, **errors(404, 409, 422)}  # an action on one task
Context = Annotated[ApiContext, Depends(get_context)]
SORTABLE = set(paging.SORT_KINDS)


class Live(NamedTuple):
    """What live state says of a task: its heartbeat, exception text and resource figures."""

    heartbeat: int | None = None
    exception: str | None = None
    resources: dict[str, float | int] | None = None


def _live(context: ApiContext, task_ids: list[str]) -> dict[str, Live]:
    """Heartbeat, exception text and resources of each task, in one round trip."""
    if not task_ids:
        return {}
    keys: list[str] = []
    for task_id in task_ids:
        keys += [RedisKey.task_heartbeat(task_id), RedisKey.task_exception(task_id), RedisKey.task_resources(task_id)]
    try:
        raw = context.live.mget(keys)
    except Exception:
        return {}
    result = {}
    for index, task_id in enumerate(task_ids):
        beat, exception, resources = raw[index * 3:index * 3 + 3]
        result[task_id] = Live(int(beat) if beat not in (None, "") and beat.lstrip("-").isdigit() else None,
                               exception or None, resource_figures(resources, TASK_FIGURES))
    return result


def _usable(context: ApiContext, task_id: str) -> dict[str, Any]:
    """The task's document; 409 when it cannot be used (the reads of lists skip it, see /api/system/problems)."""
    document = _run(context.service.get, task_id)
    reason = problem_of(document)
    if reason is not None:
        PROBLEMS.report(task_id, reason)
        raise HTTPException(409, f"the stored document of task {task_id!r} cannot be used: {reason} "
                                 "(fix or delete it; see /api/system/problems)")
    return document


def _known(context: ApiContext) -> set[str] | None:
    """The classes registered nodes run (cached), to tell a Created task that waits for one; None if unknown."""
    try:
        return context.catalog.known()
    except Exception:  # live state down: a task view still answers, without that line
        return None


def _confirmation(context: ApiContext) -> Callable[[dict[str, Any]], str | None]:
    """Why a task's node does not confirm its status now, from the monitor's view of the nodes (memory)."""
    records = context.node_records()
    silent = confirmation.silent_nodes(records)
    return lambda document: confirmation.unconfirmed(document, records, silent)


def _response(context: ApiContext, document: dict[str, Any]) -> TaskResponse:
    live = _live(context, [document["id"]]).get(document["id"], Live())
    return TaskResponse.from_document(document, live.heartbeat, live.exception, _known(context),
                                      _confirmation(context)(document), live.resources,
                                      latest_progress(context, document["id"]),
                                      retry_backoff_ms=_backoff_ms(context))


def _backoff_ms(context: ApiContext) -> int:
    return int(context.config.retry_backoff_seconds * 1000)


def _run(action: Any, *args: Any) -> dict[str, Any]:
    try:
        return action(*args)
    except TaskActionError as error:
        raise HTTPException(error.status_code, error.message) from error


@router.get("", response_model=TaskPage, dependencies=[Depends(require_read)],
            responses={**READ, **errors(400, 422)})
@router.get("/", response_model=TaskPage, dependencies=[Depends(require_read)], include_in_schema=False)
def list_tasks(
    context: Context,
    page: Annotated[int, Query(ge=1, le=paging.SKIP_LIMIT)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 20,
    lifecycle_status: Annotated[TaskLifecycleStatus | None, Query(alias="lifecycleStatus")] = None,
    class_name: Annotated[str | None, Query(alias="className", max_length=200)] = None,
    task_id: Annotated[str | None, Query(alias="id", max_length=200)] = None,
    executor: Annotated[str | None, Query(max_length=200)] = None,
    sort_by: Annotated[str, Query(alias="sortBy", json_schema_extra={"enum": sorted(SORTABLE)})] = "createDateTime",
    sort_order: Annotated[str, Query(alias="sortOrder", pattern="^(asc|desc)$")] = "desc",
    cursor: Annotated[str | None, Query(max_length=paging.MAX_CURSOR)] = None,
) -> TaskPage:
    """Tasks, newest first. `id` is a literal, case-insensitive substring (not a pattern). Page on with
    `cursor` = the previous page's `nextCursor` (same filters and sort); `page` reads by skip, up to
    page * pageSize = 10,000 (422 beyond). `total` is exact when the live view knows it (live statuses, a
    status alone); else the store counts up to 500 (`totalIsLowerBound` then); it is counted
    by the first page and carried by its cursors."""
    if sort_by not in SORTABLE:
        raise HTTPException(400, f"sortBy must be one of {sorted(SORTABLE)}")
    task_filter = queries.TaskFilter(lifecycle_status=lifecycle_status.value if lifecycle_status else None,
                                     class_name=class_name, executor=executor, id_contains=task_id)
    try:  # the total comes from the live view when it knows it exactly (paging.total)
        found = paging.page(context.service.store, task_filter, sort_by=sort_by, descending=sort_order == "desc",
                            page_number=page, page_size=page_size, cursor=cursor, live=context.view.total)
    except paging.PagingError as error:
        raise HTTPException(422, str(error)) from error
    documents = found.documents
    live, known = _live(context, [document["id"] for document in documents]), _known(context)
    why = _confirmation(context)
    backoff = _backoff_ms(context)
    progress = context.monitor.progress.latest if context.monitor is not None else lambda _task_id: None
    items = [TaskResponse.from_document(d, (one := live.get(d["id"], Live())).heartbeat, one.exception, known, why(d),
                                        one.resources, progress(d["id"]), retry_backoff_ms=backoff) for d in documents]
    return TaskPage(items=items, total=found.total, page=page, pageSize=page_size, nextCursor=found.next_cursor,
                    totalIsLowerBound=found.total_is_lower_bound)


@router.post("", response_model=TaskResponse, status_code=201, dependencies=[Depends(require_admin)],
             responses={**ADMIN, **BODY, **errors(409)})
@router.post("/", response_model=TaskResponse, status_code=201, dependencies=[Depends(require_admin)],
             include_in_schema=False)
def create_task(body: TaskCreateRequest, context: Context, response: Response) -> TaskResponse:
    """Create a Passive task; the dispatcher assigns it to a capable node at once. 422 when no node has
    registered its class (unless `waitForClass`), or when its attachments do not fit the schema of the class
    that the nodes published (`detail` lists each field error)."""
    if body.wait_for_class:
        runners = context.catalog.runners(body.class_name)
    else:
        runners = refuse_unknown_class(context, body.class_name)
    check_attachments(body.class_name, body.attachments, runners)
    with flow.create_span(body.class_name, body.id) as span:
        document = _run(lambda: context.service.create(
            task_id=body.id, class_name=body.class_name, attachments=body.attachments, priority=body.priority,
            name=body.name, description=body.description, max_retries=body.max_retries,
            memory_limit_mb=body.memory_limit_mb,
            disconnect=body.disconnect.model_dump(by_alias=True) if body.disconnect is not None else None))
        span.set_attribute("task.id", document["id"])
    response.headers["Location"] = f"/api/tasks/{document['id']}"
    return TaskResponse.from_document(document, known_classes={body.class_name} if runners else set())


@router.get("/classnames", response_model=list[str], dependencies=[Depends(require_read)], responses=READ)
def class_names(context: Context) -> list[str]:
    """Every class name a task was stored with (from the live view: its start read them once)."""
    if not context.view.ready:
        return queries.class_names(context.service.store)
    return context.view.class_names()


@router.get("/{task_id}", response_model=TaskResponse, dependencies=[Depends(require_read)], responses=ONE)
def get_task(task_id: str, context: Context) -> TaskResponse:
    return _response(context, _usable(context, task_id))


@router.get("/{task_id}/events", dependencies=[Depends(require_read)], responses={**READ, **errors(404, 422)})
def task_history(task_id: str, context: Context) -> dict[str, Any]:
    """The task's history: creation, assignments (attempt, node), status changes, updates, errors."""
    _run(context.service.get, task_id)
    entries = [{key: value for key, value in entry.items() if key != "_id"}
               for entry in context.service.store.history(task_id)]
    return {"taskId": task_id, "events": entries, "total": len(entries)}


@router.get("/{task_id}/heartbeat", dependencies=[Depends(require_read)], responses=ONE)
def task_heartbeat(task_id: str, context: Context) -> dict[str, Any]:
    document = _usable(context, task_id)
    beat, exception, _ = _live(context, [task_id]).get(task_id, Live())
    record = context.monitor.beats.get(task_id) if context.monitor else None
    return {"taskId": task_id, "heartbeat": beat if beat is not None else 0,
            "status": document.get("lifecycleStatus"),
            "isAlive": document.get("lifecycleStatus") in (S.Running.value, S.Paused.value)
            and HeartbeatCode.is_running(beat),
            "isAssigning": document.get("lifecycleStatus") == S.Assigning.value, "error": document.get("error"),
            "exception": exception, "lastUpdate": document.get("updateDateTime"),
            "heartbeatHistory": [record.heartbeat] if record and record.heartbeat is not None else []}


def _action(context: ApiContext, task_id: str, action: Any, message: str, response: Response) -> ActionResponse:
    """200 when the change is done; 202 when it is stored and its node still has to carry it out."""
    _usable(context, task_id)
    document = _run(action, task_id)
    task = TaskResponse.from_document(document, retry_backoff_ms=_backoff_ms(context))
    text = message.format(status=task.lifecycleStatus)
    if task.pending:
        response.status_code = 202
        text += f": pending until node {task.executor} has done it"
    return ActionResponse(message=text, data={"taskId": task_id, "status": task.lifecycleStatus,
                                              "desiredStatus": task.desiredStatus, "pending": task.pending,
                                              "state": task.state, "task": task.model_dump()})


@router.put("/{task_id}/status", response_model=ActionResponse, responses={**ACTION, **BODY},
            dependencies=[Depends(require_admin)])
def set_status(task_id: str, body: TaskStatusRequest, context: Context, response: Response) -> ActionResponse:
    """Created = restart, Cancelled = cancel, Paused = pause, Running = resume."""
    return _action(context, task_id, lambda tid: context.service.set_status(tid, body.lifecycle_status),
                   "Task status updated to {status}", response)


def _shortcut(name: str, message: str, summary: str) -> None:
    """`POST /api/tasks/{id}/<name>`: the service's action of that name, answered by `_action`."""

    def route(task_id: str, context: Context, response: Response) -> ActionResponse:
        return _action(context, task_id, getattr(context.service, name), message, response)

    route.__name__ = name
    router.add_api_route(f"/{{task_id}}/{name}", route, methods=["POST"], response_model=ActionResponse,
                         responses=ACTION, dependencies=[Depends(require_admin)], summary=summary)


_shortcut("cancel", "Task cancelled", "Cancel")
_shortcut("pause", "Task paused", "Pause")
_shortcut("resume", "Task resumed ({status})", "Resume")
_shortcut("retry", "Task queued again", "Retry")


@router.put("/{task_id}/attachments", response_model=ActionResponse, dependencies=[Depends(require_admin)],
            responses={**ADMIN, **BODY, **errors(404, 409)})
def update_attachments(task_id: str, body: TaskAttachmentsRequest, context: Context) -> ActionResponse:
    """Store new desired attachments (version +1) and deliver them to the running worker, which accepts or rejects
    them (see `appliedAttachmentsVersion`, `rejectedAttachmentsVersion`); 422 with each field error when they do
    not fit the schema of the task's class. The attachments the worker last applied stay apart: a rejected
    version never becomes what a retry or a new attempt starts with."""
    current = _usable(context, task_id)
    class_name = str(current.get("className") or "")
    check_attachments(class_name, body.attachments, context.catalog.runners(class_name, fresh_on_miss=False))
    document = _run(lambda tid: context.service.update_attachments(tid, body.attachments), task_id)
    sent = lifecycle.process_may_exist(document)
    return ActionResponse(message="Task attachments updated successfully",  # 0.3.8's words; `sentToWorker` says more
                          data={"taskId": task_id, "attachments": document.get("attachments"),
                                "attachmentsVersion": document.get("attachmentsVersion"), "sentToWorker": sent})


@router.put("/{task_id}/limits", response_model=TaskResponse, dependencies=[Depends(require_admin)],
            responses={**ADMIN, **BODY, **errors(404, 409)})
def update_limits(task_id: str, body: TaskLimitsRequest, context: Context) -> TaskResponse:
    """Set the task's `memoryLimitMb` (`null`: the node's default). A running worker keeps the limit it started
    with; the task's next start (retry, restart, new attempt) runs with this one."""
    _usable(context, task_id)
    if context.service.store.update(task_id, {"memoryLimitMb": body.memory_limit_mb}) is None:
        raise HTTPException(404, f"task {task_id!r} not found")
    return _response(context, _usable(context, task_id))


@router.delete("/{task_id}", response_model=ActionResponse, dependencies=[Depends(require_admin)],
                responses={**ACTION})
def delete_task(task_id: str, context: Context, response: Response) -> ActionResponse:
    """A Finished, Failed or Cancelled task is deleted with its history. A live one is cancelled, as 0.3.8's
    soft delete did (202 while its node stops it); delete it again once it is Cancelled to remove it."""
    document = _run(context.service.get, task_id)
    if document.get("lifecycleStatus") not in TERMINAL_STATUSES:
        return _action(context, task_id, context.service.cancel, "Task cancelled successfully", response)
    _run(context.service.delete, task_id)
    return ActionResponse(message="Task deleted with its history", data={"taskId": task_id, "deleted": True,
                                                                         "status": document.get("lifecycleStatus")})

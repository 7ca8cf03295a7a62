"""/api/tasks/{id}/metrics: a task's latest progress and metrics, and their recent series.

The series is the controller's (`progress_series`: one point per newer report its monitor read,
over the configured window); the latest value is the series' newest, or, before the monitor saw one
(a controller that does not run the monitor, or just started), the one its node wrote in live state.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from skalds.model.progress import decode
from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.responses import READ, errors
from skalds.system_controller.api.security import require_read
from skalds.system_controller.task_service import TaskActionError
from skalds.transport.wire_names import RedisKey

router = APIRouter(prefix="/api/tasks", tags=["tasks"], dependencies=[Depends(require_read)], responses=READ)
Context = Annotated[ApiContext, Depends(get_context)]


class ProgressSample(BaseModel):
    fraction: float | None  # 0 to 1, None: the worker reported no fraction
    message: str | None
    metrics: dict[str, float]
    at: int  # ms since the epoch: when the worker reported it
    attempt: int


class SeriesPoint(BaseModel):
    at: int
    attempt: int
    fraction: float | None
    metrics: dict[str, float]


class TaskMetrics(BaseModel):
    taskId: str
    latest: ProgressSample | None
    series: list[SeriesPoint]  # oldest first
    windowSeconds: float


def latest_progress(context: ApiContext, task_id: str) -> dict[str, Any] | None:
    """The newest sample the controller knows of the task (memory, else live state)."""
    if context.monitor is not None:
        found = context.monitor.progress.latest(task_id)
        if found is not None:
            return found
    try:
        return decode(context.live.get(RedisKey.task_progress(task_id)))
    except Exception:  # live state down: no progress, the rest of the answer stands
        return None


@router.get("/{task_id}/metrics", response_model=TaskMetrics, responses=errors(404, 422))
def task_metrics(task_id: str, context: Context) -> TaskMetrics:
    """What the task's worker last said with `report_progress`, and the series of it."""
    try:
        context.service.get(task_id)
    except TaskActionError as error:
        raise HTTPException(error.status_code, error.message) from error
    latest = latest_progress(context, task_id)
    series = context.monitor.progress.series(task_id) if context.monitor is not None else []
    return TaskMetrics(taskId=task_id, latest=ProgressSample(**latest) if latest else None,
                       series=[SeriesPoint(**point) for point in series],
                       windowSeconds=context.config.task_progress_window_seconds)

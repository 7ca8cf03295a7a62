"""/api/tasks/{id}/checkpoint: the state a task's next attempt starts from (issue #15).

The task document carries only the summary (`checkpoint`: savedAt, attempt, sizeBytes); the state, up to
the nodes' `checkpoint_max_bytes`, is read from its own collection here, one task at a time.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.responses import READ, errors
from skalds.system_controller.api.security import require_read
from skalds.system_controller.task_service import TaskActionError

router = APIRouter(prefix="/api/tasks", tags=["tasks"], dependencies=[Depends(require_read)])
Context = Annotated[ApiContext, Depends(get_context)]


class CheckpointResponse(BaseModel):
    taskId: str
    attempt: int  # the attempt that saved it
    savedAt: int  # ms since the epoch
    sizeBytes: int  # of the state encoded as JSON
    state: dict[str, Any]


@router.get("/{task_id}/checkpoint", response_model=CheckpointResponse, responses={**READ, **errors(404, 422)})
def task_checkpoint(task_id: str, context: Context) -> CheckpointResponse:
    """The task's latest saved checkpoint; 404 when the task is unknown or has none."""
    try:
        context.service.get(task_id)
    except TaskActionError as error:
        raise HTTPException(error.status_code, error.message) from error
    found = context.service.store.get_checkpoint(task_id)
    if found is None:
        raise HTTPException(404, f"task {task_id!r} has no checkpoint")
    return CheckpointResponse(taskId=task_id, **found)

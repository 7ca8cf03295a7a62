"""POST /api/skalds/{id}/cordon|drain|uncordon: what an operator wants of a node, stored, then reconciled.

A cordoned node gets no new task; a drain cordons it and moves every task it holds to other nodes (the leader's
drain reconciler, a few at a time) within `deadlineSeconds`; uncordon ends both. The wish is stored in the task
store's family, so it outlives a controller and a live state that restarts empty. A node not registered (yet)
can be cordoned too: a node that is about to start then gets no task.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from skalds.model.ids import is_valid_id
from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.responses import ADMIN, BODY, errors
from skalds.system_controller.api.security import require_admin
from skalds.system_controller.drain_desk import MAX_DRAIN_SECONDS, DrainDesk, shown

router = APIRouter(prefix="/api/skalds", tags=["skalds"], dependencies=[Depends(require_admin)], responses=ADMIN)
Context = Annotated[ApiContext, Depends(get_context)]


class DrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadlineSeconds: float = Field(300.0, gt=0, le=MAX_DRAIN_SECONDS)
    parallelism: int | None = Field(None, ge=1, le=1000)  # releases under way at once (default: the controller's)


class NodeAction(BaseModel):
    skaldId: str
    drainState: str | None
    drainDeadline: int | None = None
    online: bool
    taskCount: int


def _desk(context: ApiContext, skald_id: str) -> DrainDesk:
    if not is_valid_id(skald_id):
        raise HTTPException(422, "a node id is a printable string of 1 to 1000 characters")
    if context.drains is None:
        raise HTTPException(503, "this controller keeps no node wishes")
    return context.drains


def _answer(context: ApiContext, skald_id: str, wish: dict[str, Any] | None) -> NodeAction:
    node = context.node_records().get(skald_id)
    return NodeAction(skaldId=skald_id, **shown(wish), online=bool(node and node.online),
                      taskCount=len(node.current_tasks) if node else 0)


@router.post("/{skald_id}/cordon", response_model=NodeAction, responses=errors(422, 503))
def cordon(skald_id: str, context: Context) -> NodeAction:
    """No new tasks for the node (a drain already under way goes on)."""
    return _answer(context, skald_id, _desk(context, skald_id).cordon(skald_id))


@router.post("/{skald_id}/drain", response_model=NodeAction, status_code=202, responses={**BODY, **errors(503)})
def drain(skald_id: str, context: Context, request: DrainRequest | None = None) -> NodeAction:
    """Cordon the node, then move every task it holds to other nodes within `deadlineSeconds`."""
    body = request or DrainRequest()
    parallelism = body.parallelism or context.config.drain_parallelism
    return _answer(context, skald_id, _desk(context, skald_id).drain(skald_id, body.deadlineSeconds, parallelism))


@router.post("/{skald_id}/uncordon", response_model=NodeAction, responses=errors(422, 503))
def uncordon(skald_id: str, context: Context) -> NodeAction:
    """The node takes new tasks again; a drain under way stops moving tasks."""
    _desk(context, skald_id).uncordon(skald_id)
    return _answer(context, skald_id, None)

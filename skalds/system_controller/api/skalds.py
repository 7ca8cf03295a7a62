"""/api/skalds: the nodes seen by the monitor (0.3.8 paths and fields)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.models import SkaldList, SkaldResponse
from skalds.system_controller.api.responses import READ, errors
from skalds.system_controller.api.security import require_read
from skalds.system_controller.drain_desk import shown
from skalds.system_controller.nodes import NodeRecord

router = APIRouter(prefix="/api/skalds", tags=["skalds"], dependencies=[Depends(require_read)], responses=READ)
ONE = errors(404, 422)
Context = Annotated[ApiContext, Depends(get_context)]


def _response(context: ApiContext, node: NodeRecord) -> SkaldResponse:
    """0.3.8's fields plus the node's drain state (stored wish, or a node draining itself)."""
    wish = context.drains.state_of(node.id) if context.drains is not None else None
    return SkaldResponse(**node.to_dict(), **shown(wish, node.draining))


def _node(context: ApiContext, skald_id: str) -> NodeRecord:
    node = context.node_records().get(skald_id)
    if node is None:
        raise HTTPException(404, f"skald {skald_id!r} not found")
    return node


@router.get("", response_model=SkaldList, responses=errors(422))
@router.get("/", response_model=SkaldList, include_in_schema=False)
def list_skalds(context: Context, type: Annotated[Literal["node", "edge"] | None, Query()] = None,
                status: Annotated[Literal["online", "offline"] | None, Query()] = None) -> SkaldList:
    items = [_response(context, node) for node in sorted(context.node_records().values(), key=lambda n: n.id)
             if (type is None or node.mode == type) and (status is None or (node.online == (status == "online")))]
    return SkaldList(items=items, total=len(items))


@router.get("/summary/statistics")
def statistics(context: Context) -> dict[str, Any]:
    nodes = list(context.node_records().values())
    online = [node for node in nodes if node.online]
    online_nodes = [node for node in online if node.mode == "node"]
    running = sum(len(node.current_tasks) for node in nodes)
    return {"totalSkalds": len(nodes), "onlineSkalds": len(online), "offlineSkalds": len(nodes) - len(online),
            "nodeSkalds": sum(node.mode == "node" for node in nodes),
            "edgeSkalds": sum(node.mode == "edge" for node in nodes), "availableNodes": len(online_nodes),
            "totalRunningTasks": running, "averageTasksPerSkald": round(running / len(nodes), 2) if nodes else 0,
            "details": {"onlineNodes": len(online_nodes),
                        "onlineEdges": sum(node.mode == "edge" for node in online),
                        "busyNodes": sum(bool(node.current_tasks) for node in online_nodes),
                        "idleNodes": sum(not node.current_tasks for node in online_nodes)}}


@router.get("/{skald_id}", response_model=SkaldResponse, responses=ONE)
def get_skald(skald_id: str, context: Context) -> SkaldResponse:
    return _response(context, _node(context, skald_id))


@router.get("/{skald_id}/tasks", responses=ONE)
def skald_tasks(skald_id: str, context: Context) -> dict[str, Any]:
    node = _node(context, skald_id)
    tasks = [{"id": task["id"], "className": task["className"], "assignedAt": node.last_heartbeat_ms}
             for task in node.current_tasks]
    return {"skaldId": skald_id, "tasks": tasks, "totalTasks": len(tasks)}


@router.get("/{skald_id}/status", responses=ONE)
def skald_status(skald_id: str, context: Context) -> dict[str, Any]:
    node = _node(context, skald_id)
    return {"skaldId": skald_id, "status": "online" if node.online else "offline", "type": node.mode,
            "heartbeat": node.heartbeat, "lastUpdate": node.last_heartbeat_ms, "taskCount": len(node.current_tasks),
            "isOnline": node.online, "uptime": None,
            "details": {"canAcceptTasks": node.online and node.mode == "node",
                        "lastHeartbeatAge": int(node.age_seconds() * 1000),
                        "tasks": node.current_tasks, "capacity": node.capacity,
                        "supportedTasks": node.supported_tasks}}


@router.get("/{skald_id}/heartbeat", responses=ONE)
def skald_heartbeat(skald_id: str, context: Context) -> dict[str, Any]:
    node = _node(context, skald_id)
    return {"skaldId": skald_id, "heartbeat": node.heartbeat, "lastUpdate": node.last_heartbeat_ms,
            "heartbeatAge": int(node.age_seconds() * 1000), "isOnline": node.online,
            "timestamp": int(time.time() * 1000)}


@router.post("/{skald_id}/ping", responses=ONE)
def ping(skald_id: str, context: Context) -> dict[str, Any]:
    """Whether the node's heartbeat is current (a node is never contacted directly)."""
    node = _node(context, skald_id)
    state = "online" if node.online else "offline"
    return {"success": node.online, "message": f"Skalds {skald_id} is {state}",
            "data": {"skaldId": skald_id, "online": node.online, "lastHeartbeat": node.last_heartbeat_ms}}

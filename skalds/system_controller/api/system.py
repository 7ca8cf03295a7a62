"""/api/system: health, status, summaries, configuration (no secrets), analytics, version."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

import skalds
from skalds.model.task import ACTIVE_STATUSES, TaskLifecycleStatus
from skalds.system_controller.api.context import ApiContext, get_context
from skalds.system_controller.api.responses import ADMIN, READ, errors
from skalds.system_controller.api.security import require_admin, require_read
from skalds.system_controller.api.system_models import HealthResponse, MetricsResponse
from skalds.tasks import queries
from skalds.tasks.problems import PROBLEMS

router = APIRouter(prefix="/api/system", tags=["system"])
Context = Annotated[ApiContext, Depends(get_context)]
S = TaskLifecycleStatus


def _counts(context: ApiContext) -> dict[str, int]:
    return context.counts()


def _check(action: Any) -> str:
    try:
        action()
        return "up"
    except Exception as error:
        return f"down: {type(error).__name__}"


def _as_0_3_8(state: str) -> str:
    """0.3.8's wording of a check: "healthy" or "unhealthy: <reason>"."""
    return "healthy" if state == "up" else "unhealthy: " + state.removeprefix("down: ")


@router.get("/health", response_model=HealthResponse)
def health(context: Context) -> dict[str, Any]:
    """Real checks of the task store and live state (open, for load balancers); `skald_store` (the node
    registry, in the live state) and `task_store` are 0.3.8's names for the same two checks."""
    checks = {"mongodb": _check(context.service.store.ping), "redis": _check(context.live.ping)}
    down = [name for name, state in checks.items() if state != "up"]
    status = "healthy" if not down else ("unhealthy" if len(down) == len(checks) else "degraded")
    services = {**checks, "skald_store": _as_0_3_8(checks["redis"]), "task_store": _as_0_3_8(checks["mongodb"])}
    return {"status": status, "timestamp": int(time.time() * 1000), "services": services}


@router.get("/status", dependencies=[Depends(require_read)], responses=READ)
def status(context: Context) -> dict[str, Any]:
    components = []
    if context.monitor is not None:
        components.append({"name": "Monitor", "running": True,
                           "details": {"lastCycleMs": round(context.monitor.last_cycle_seconds * 1000, 2),
                                       "lostTasks": context.monitor.lost_total}})
    if context.dispatcher is not None:
        components.append({"name": "Dispatcher", "running": bool(context.lease and context.lease.is_leader),
                           "details": {"strategy": context.dispatcher.strategy,
                                       "assigned": context.dispatcher.assigned_total}})
    return {"mode": context.config.system_controller_mode, "components": components,
            "leader": bool(context.lease and context.lease.is_leader),
            "leaderId": context.lease.holder() if context.lease else None,
            "uptime": int(time.time() - context.started_at), "version": skalds.__version__}


@router.get("/dashboard/summary", dependencies=[Depends(require_read)], responses=READ)
def dashboard_summary(context: Context) -> dict[str, Any]:
    counts = _counts(context)
    nodes = list(context.node_records().values())
    return {"totalSkalds": len(nodes), "onlineSkalds": sum(node.online for node in nodes),
            "totalTasks": sum(counts.values()), "runningTasks": counts.get(S.Running.value, 0),
            "finishedTasks": counts.get(S.Finished.value, 0), "failedTasks": counts.get(S.Failed.value, 0),
            "assigningTasks": counts.get(S.Assigning.value, 0), "cancelledTasks": counts.get(S.Cancelled.value, 0),
            "createdTasks": counts.get(S.Created.value, 0), "pausedTasks": counts.get(S.Paused.value, 0),
            "nodeSkalds": sum(node.mode == "node" for node in nodes),
            "edgeSkalds": sum(node.mode == "edge" for node in nodes)}


@router.get("/config", dependencies=[Depends(require_read)], responses=READ)
def config(context: Context) -> dict[str, Any]:
    settings = context.config
    return {"mode": settings.system_controller_mode, "host": settings.system_controller_host,
            "port": settings.system_controller_port,
            "monitoring": {"skaldInterval": settings.monitor_skald_interval,
                           "taskInterval": settings.monitor_task_interval,
                           "heartbeatTimeout": settings.monitor_heartbeat_timeout},
            "dispatcher": {"interval": settings.dispatcher_interval, "strategy": settings.dispatcher_strategy},
            "environment": settings.skald_env, "logLevel": settings.log_level}


@router.get("/metrics", dependencies=[Depends(require_read)], responses=READ, response_model=MetricsResponse)
def metrics(context: Context) -> dict[str, Any]:
    """0.3.8's metrics: node counts from the registry, task counts from the store, loads from both."""
    counts = _counts(context)
    nodes = list(context.node_records().values())
    online = [node for node in nodes if node.online]
    available = [node for node in online if node.mode == "node"]
    busy = sum(bool(node.current_tasks) for node in available)
    assigned = sum(len(node.current_tasks) for node in nodes)
    return {"timestamp": int(time.time() * 1000),
            "skalds": {"total": len(nodes), "online": len(online), "offline": len(nodes) - len(online),
                       "nodes": sum(node.mode == "node" for node in nodes),
                       "edges": sum(node.mode == "edge" for node in nodes),
                       "availableNodes": len(available), "busyNodes": busy, "idleNodes": len(available) - busy},
            "tasks": {"total": sum(counts.values()), **{status.value.lower(): counts.get(status.value, 0)
                                                        for status in S},
                      "monitored": sum(counts.get(status, 0) for status in ACTIVE_STATUSES),
                      "totalAssigned": assigned},
            "performance": {"averageTasksPerSkald": round(assigned / len(online), 2) if online else 0,
                            "taskDistribution": {node.id: len(node.current_tasks) for node in nodes},
                            "systemLoad": {"skaldUtilization": _percent(len(online), len(nodes)),
                                           "nodeUtilization": _percent(busy, len(available))}}}


def _percent(part: int, whole: int) -> float:
    return round(part * 100 / max(whole, 1), 2)


@router.post("/cleanup", dependencies=[Depends(require_admin)], responses=ADMIN)
def cleanup(context: Context) -> dict[str, Any]:
    """Nothing accumulates in memory any more; kept for 0.3.8 clients."""
    return {"success": True, "message": "nothing to clean up",
            "data": {"timestamp": int(time.time() * 1000), "operations": []}}


@router.get("/analytics/task-distribution", dependencies=[Depends(require_read)], responses=READ)
def distribution(context: Context) -> dict[str, Any]:
    counts = _counts(context)
    total = sum(counts.values())
    rows = sorted(({"status": status, "count": count, "percentage": round(count * 100 / total, 2)}
                   for status, count in counts.items() if count), key=lambda row: -row["count"])
    return {"distribution": rows, "timestamp": int(time.time() * 1000)}


@router.get("/analytics/recent-activity", dependencies=[Depends(require_read)],
            responses={**READ, **errors(422)})
def recent_activity(context: Context, hours: Annotated[int, Query(ge=1, le=168)] = 24) -> dict[str, Any]:
    cutoff = int((time.time() - hours * 3600) * 1000)
    activity = queries.activity_since(context.service.store, cutoff)
    created, updated, finished, failed = activity.created, activity.updated, activity.finished, activity.failed
    rate = round(finished * 100 / (finished + failed), 2) if finished + failed else 0
    return {"timeframe": f"Last {hours} hours", "tasksCreated": created, "tasksUpdated": updated,
            "tasksFinished": finished, "tasksFailed": failed, "successRate": rate}


@router.get("/problems", dependencies=[Depends(require_read)], responses=READ)
def problems(context: Context) -> dict[str, Any]:
    """Task documents the controller skipped because they cannot be used, and why (fix or delete them)."""
    listed = PROBLEMS.snapshot()
    context.metrics.observe_problems(PROBLEMS)
    return {"problems": [problem.to_dict() for problem in listed], "total": len(listed), "skips": PROBLEMS.total}


@router.get("/version")
def version() -> dict[str, Any]:
    return {"version": skalds.__version__, "apiVersion": "1.0.0",
            "pythonVersion": ".".join(map(str, sys.version_info[:3]))}

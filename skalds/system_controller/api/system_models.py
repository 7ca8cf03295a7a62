"""Response models of /api/system/health and /api/system/metrics: 0.3.8's fields, then ours (additive)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model

from skalds.model.task import TaskLifecycleStatus


class HealthServices(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mongodb: str = Field(description='"up", or "down: <error>": a real round trip to the task store')
    redis: str = Field(description='"up", or "down: <error>": a real round trip to the live state')
    skald_store: str = Field(description='0.3.8\'s name of the node registry (live state): "healthy" or '
                                         '"unhealthy: <error>"')
    task_store: str = Field(description='0.3.8\'s name of the task store: "healthy" or "unhealthy: <error>"')


class HealthResponse(BaseModel):
    status: str = Field(description="healthy, degraded (one service down) or unhealthy (all down)")
    timestamp: int
    services: HealthServices


class NodeMetrics(BaseModel):
    total: int
    online: int
    offline: int
    nodes: int
    edges: int
    availableNodes: int = Field(description="online node-mode Skalds (the ones tasks are assigned to)")
    busyNodes: int = Field(description="available nodes running at least one task")
    idleNodes: int = Field(description="available nodes running none")


TaskMetrics = create_model(  # counts from the task store: the total, then one per lifecycle status (lower case)
    "TaskMetrics",
    total=(int, ...),
    **{status.value.lower(): (int, ...) for status in TaskLifecycleStatus},
    monitored=(int, Field(description="tasks the monitor watches: Assigning, Running or Paused")),
    totalAssigned=(int, Field(description="tasks the nodes report running, summed over all nodes")),
)


class SystemLoad(BaseModel):
    skaldUtilization: float = Field(description="online Skalds, % of all known")
    nodeUtilization: float = Field(description="busy nodes, % of available nodes")


class Performance(BaseModel):
    averageTasksPerSkald: float = Field(description="tasks the nodes report, per online Skald")
    taskDistribution: dict[str, int]
    systemLoad: SystemLoad


class MetricsResponse(BaseModel):
    timestamp: int
    skalds: NodeMetrics
    tasks: TaskMetrics
    performance: Performance

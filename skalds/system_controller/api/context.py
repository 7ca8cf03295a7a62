"""What the API handlers need from the running controller."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from skalds.config.system_controller_config import SystemControllerConfig
from skalds.system_controller.class_catalog import ClassCatalog
from skalds.system_controller.dashboard.timeline import StatusTimeline
from skalds.system_controller.dispatcher import Dispatcher
from skalds.system_controller.drain_desk import DrainDesk
from skalds.system_controller.hub import EventHub
from skalds.system_controller.leader import LeaderLease
from skalds.system_controller.live_view import LiveView
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.monitor import Monitor
from skalds.system_controller.task_service import TaskService
from skalds.transport.ports import LiveState, TaskLogs


@dataclass
class ApiContext:
    config: SystemControllerConfig
    service: TaskService
    live: LiveState
    hub: EventHub
    metrics: ControllerMetrics
    view: LiveView
    timeline: StatusTimeline
    monitor: Monitor | None = None
    dispatcher: Dispatcher | None = None
    lease: LeaderLease | None = None
    logs: TaskLogs | None = None  # the tasks' log lines (read by api/logs)
    drains: DrainDesk | None = None  # cordons and drains asked for nodes
    started_at: float = field(default_factory=time.time)
    _catalog: ClassCatalog | None = field(default=None, init=False, repr=False)

    def counts(self) -> dict[str, int]:
        """Tasks by status, from the live view (503 until the controller has read its starting state)."""
        return self.view.checked_counts()

    def node_records(self) -> dict[str, Any]:
        return self.monitor.nodes() if self.monitor is not None else {}

    @property
    def catalog(self) -> ClassCatalog:
        """The classes nodes run and their attachments schemas (made on first use)."""
        if self._catalog is None:
            self._catalog = ClassCatalog(self.live, self.config.monitor_heartbeat_timeout)
        return self._catalog


def get_context(request: Request) -> ApiContext:
    return request.app.state.context

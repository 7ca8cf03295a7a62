"""SystemControllerConfig: 0.3.8's keywords plus authentication, timeouts and capacity."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from skalds.config._base import ServiceConfig
from skalds.config._enum import DispatcherStrategyEnum, SystemControllerModeEnum


class SystemControllerConfig(ServiceConfig):
    log_path: str = ""
    system_controller_mode: SystemControllerModeEnum = SystemControllerModeEnum.DISPATCHER
    system_controller_host: str = "127.0.0.1"
    system_controller_port: int = 8000
    monitor_skald_interval: float = 1.0  # seconds between node checks (online/offline)
    monitor_task_interval: float = 1.0  # seconds between task checks (lost tasks) and change-feed reads
    monitor_heartbeat_timeout: float = 6.0
    view_audit_seconds: float = 30.0  # how often the live view is compared with the store's live tasks (0: never)
    fence_margin_seconds: float = 2.0  # a node's tasks move only after its fence time plus this (self-fencing)
    assign_timeout: float = 15.0
    dispatcher_interval: float = 5.0  # the periodic pass over the live view; new work wakes the dispatcher at once
    dispatcher_strategy: DispatcherStrategyEnum = DispatcherStrategyEnum.LEAST_TASKS
    max_tasks_per_node: int = 0
    retry_backoff_seconds: float = 5.0
    leader_lease_seconds: float = 6.0
    api_admin_tokens: str = ""
    api_read_tokens: str = ""
    api_allow_open: bool = False
    api_cors_origins: str = ""
    api_max_body_bytes: int = 1024 * 1024  # larger request bodies are refused (413) before they are read
    sse_keepalive_seconds: float = Field(15.0, ge=0.5, le=30)  # a comment on a quiet stream (proxy idle timeouts)
    controller_id: str = ""
    task_retention_days: float = 7.0  # terminal tasks unchanged this long are removed with their history; 0 = keep
    retention_interval: float = 60.0  # seconds between the retention job's looks at its schedule (leader)
    task_progress_window_seconds: float = Field(3600.0, ge=10, le=7 * 86400)  # how far back a task's series goes
    task_progress_max_points: int = Field(720, ge=10, le=100_000)  # points kept per task
    task_progress_max_tasks: int = Field(1000, ge=1, le=1_000_000)  # tasks with a series (oldest update goes first)
    metrics_max_tasks: int = Field(200, ge=0, le=100_000)  # tasks labelled in /metrics' per-task gauges
    drain_parallelism: int = Field(2, ge=1, le=1000)  # tasks a drain moves at once (a request may say otherwise)
    drain_interval: float = Field(0.25, gt=0)  # seconds between the drain reconciler's looks (leader)

    @field_validator("task_retention_days", "retention_interval")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("system_controller_mode", "dispatcher_strategy", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def admin_tokens(self) -> set[str]:
        return {token.strip() for token in self.api_admin_tokens.split(",") if token.strip()}

    def read_tokens(self) -> set[str]:
        return {token.strip() for token in self.api_read_tokens.split(",") if token.strip()}

    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.api_cors_origins.split(",") if origin.strip()]

    @property
    def runs_monitor(self) -> bool:
        return self.system_controller_mode in ("MONITOR", "DISPATCHER")

    @property
    def runs_dispatcher(self) -> bool:
        return self.system_controller_mode == "DISPATCHER"

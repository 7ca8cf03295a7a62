"""SkaldConfig: every keyword of 0.3.8 plus the settings its bugs lacked."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import Field, field_validator

from skalds.config._base import ServiceConfig
from skalds.config._enum import SkaldModeEnum


def generate_skald_id() -> str:
    return f"skalds-{secrets.token_hex(3)[:5]}"


class SkaldConfig(ServiceConfig):
    """Configuration of one Skald (node, edge or single_process).

    Example: ``SkaldConfig(skald_mode="node", skald_id="skald_123", kafka_host="127.0.0.1")``.
    """

    skald_id: str = Field(default_factory=generate_skald_id)
    skald_mode: SkaldModeEnum = SkaldModeEnum.NODE
    task_worker_retry: int = -1
    yaml_file: str = ""
    # Runtime behaviour (additive).
    heartbeat_period: float = 1.0  # a few heartbeats fit in fence_seconds: one slow write does not fence the node
    cancel_request_timeout: float = 2.0
    cancel_grace_seconds: float = 10.0
    # A worker that polls is_cancel_requested() has this long to end by itself before its main thread is interrupted.
    cancel_interrupt_grace_seconds: float = Field(0.25, ge=0, le=60)
    # Checkpoints: the largest state a worker may save, and how long a release waits for @checkpoint_handler.
    checkpoint_max_bytes: int = Field(1024 * 1024, ge=1024, le=16 * 1024 * 1024)
    checkpoint_timeout_seconds: float = Field(5.0, ge=0, le=600)
    max_concurrent_tasks: int = 0
    standby_workers: int = 2  # processes forked ahead of time so an assigned task starts at once; 0 = off
    reconcile_period: float = 5.0  # seconds between two comparisons of the tasks held here with the store
    ownership_check_period: float | None = None  # 0.3.8-era name of reconcile_period, used when that is not set
    max_event_task_ids: int = 1000  # an event naming more task ids is rejected (logged and committed)
    event_max_attempts: int = 5  # tries of an event failing for a reason other than an outage; then dead-lettered
    # Task logs (a worker's logger lines and output): caps of each task's log, all attempts together.
    task_log_max_lines: int = Field(10_000, ge=10, le=1_000_000)
    task_log_max_bytes: int = Field(4 * 1024 * 1024, ge=4096, le=1024 ** 3)
    task_log_lines_per_second: int = Field(2000, ge=1, le=1_000_000)  # per task; the excess is dropped, and counted
    task_log_ttl_seconds: int = Field(7 * 86400, ge=60)  # a task's log is kept this long after its last line
    # Resources: how often worker trees are measured (and their memory limits checked), the default limit.
    resource_sample_seconds: float = Field(0.5, ge=0.1, le=60.0)
    task_memory_limit_mb: int = Field(0, ge=0, le=1024 * 1024)  # a task's own memoryLimitMb wins; 0 = none

    def reconcile_seconds(self) -> float:
        """The reconcile period: `reconcile_period`, or `ownership_check_period` when only that was given."""
        if self.ownership_check_period is not None and "reconcile_period" not in self.model_fields_set:
            return max(0.1, float(self.ownership_check_period))
        return max(0.1, float(self.reconcile_period))
    # Self-fencing: a worker whose node was silent this long, and a node whose heartbeats failed this long,
    # stop their tasks (keep it well below the controller's MONITOR_HEARTBEAT_TIMEOUT, 6 s).
    fence_seconds: float = Field(4.0, gt=0)
    # Shutdown: a node told to stop (SIGTERM) first moves its tasks to other nodes, this many at a time, for at
    # most this long (0: it stops them all at once and gives them back, as before).
    shutdown_drain_seconds: float = Field(30.0, ge=0, le=86400)
    drain_parallelism: int = Field(4, ge=1, le=1000)
    # Disconnect policy of this node's tasks that name none (`disconnect` on a task wins): how long the node may
    # be silent before they move (0: the controller's timeout), and whether they move at all while it is
    # merely unreachable (false: never; the node then keeps them running through an outage of the services).
    disconnect_lost_after_seconds: float = Field(0.0, ge=0, le=7 * 86400)
    disconnect_replace: bool = True

    @field_validator("skald_mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

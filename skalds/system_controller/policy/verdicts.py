"""Is a task lost? The monitor's verdict over one task, its node and its heartbeat, as a pure function.

A Running task is alive while its heartbeat timestamp keeps changing, timed on the controller's
clock (a node's skewed clock does not matter). Only dispatched (Passive) tasks are judged: edge
(Active) tasks are pinned to their node and never moved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from skalds.model import disconnect
from skalds.model.task import ModeEnum, TaskLifecycleStatus
from skalds.system_controller.nodes import NodeRecord

S = TaskLifecycleStatus


@dataclass
class TaskBeat:
    """The last heartbeat seen for a task and when (controller monotonic clock) its stamp last changed."""

    heartbeat: int | None = None
    stamp: str | None = None
    seen_change_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class LostLimits:
    heartbeat_timeout: float  # seconds without a heartbeat change
    assign_timeout: float  # seconds an assigned task may take to start
    fence_margin: float = 2.0  # seconds past a node's fence time before its tasks may move

    def silence_allowed(self, node: NodeRecord | None) -> float:
        """How long a task's node may be silent before the task moves: the timeout, and never before the
        node's workers have fenced themselves (its published fence time) plus a margin for clocks and polls."""
        fence = node.fence_seconds if node is not None else 0.0
        return max(self.heartbeat_timeout, fence + self.fence_margin) if fence > 0 else self.heartbeat_timeout


def lost_reason(document: dict[str, Any], node: NodeRecord | None, beat: TaskBeat, now: float, wall_ms: float,
                limits: LostLimits) -> str | None:
    """Why the task is lost (its node is offline, its heartbeat stopped, it never started), or None.

    Its disconnect policy (`model.disconnect`, else its node's default) can make the wait longer
    (`lostAfterSeconds`) or forbid the move while the node is unreachable (`replace: false`).

    `now` is the monotonic clock `beat` was timed on; `wall_ms` the wall clock, which the
    assignment time in the document is written in."""
    executor = document.get("executor")
    if document.get("mode") != ModeEnum.Passive.value or not executor:
        return None
    silent_for = now - beat.seen_change_at
    policy = disconnect.of(document, node.disconnect if node is not None else disconnect.NODE_DEFAULT)
    allowed = max(limits.silence_allowed(node), policy.lost_after_seconds)
    if node is None or not node.online:
        if not policy.replace:
            return None  # never moved while its node is merely unreachable: its worker keeps running there
        # The task's own heartbeat is written by the same node: while it still changes the
        # node is alive (its registration was lost, e.g. live state restarted), so wait.
        if beat.stamp is not None and silent_for <= max(limits.heartbeat_timeout, policy.lost_after_seconds):
            return None
        if node is not None and node.age_seconds(now) <= allowed:
            return None  # its workers may still run: they stop themselves within the node's fence time
        return f"node {executor} is offline"
    status = document.get("lifecycleStatus")
    if status == S.Running.value and silent_for > allowed:
        return f"no heartbeat for {silent_for:.0f}s"
    if status == S.Assigning.value and beat.stamp is None:
        assigned_ms = int(document.get("assignedDateTime") or document.get("updateDateTime") or 0)
        if wall_ms - assigned_ms > limits.assign_timeout * 1000:
            return f"node {executor} did not start it within {limits.assign_timeout:.0f}s"
    return None

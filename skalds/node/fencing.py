"""Self-fencing, the node's side: at most one live copy of a task, also when the node freezes, is
cut off from live state or is killed.

- Its workers watch it (`skalds/worker/watchdog.py`): the node sends each a keep-alive every
  `keepalive_period(fence_seconds)`; a worker that hears nothing for `fence_seconds`, or whose pipe
  closed, ends itself at once (exit code FENCED).
- The node watches itself (`Liveness`): when none of its heartbeats reached live state for
  `fence_seconds`, or two of them lie further apart than that (it was frozen), the controller may
  be moving its tasks, so it fences its workers: a releasing stop, nothing recorded.
- A fenced task still its own once the node is alive again starts again with a new attempt
  (`reclaim`, a compare-and-set like a restarted node's recovery); one that moved is left alone.
- A restarted node recovers its tasks only once their old copies must have fenced themselves
  (`old_copies_gone_in`).

The controller declares a node's tasks lost only after `max(its timeout, fence_seconds + margin)`;
the node publishes its fence time in its registration for that (`transport/node_registry.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from skalds.model.task import DesiredStatus, TaskLifecycleStatus
from skalds.tasks import lifecycle
from skalds.tasks.status_change import StatusChange
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger
from skalds.worker.watchdog import CHECK_SECONDS

LONGEST_KEEPALIVE_SECONDS = 1.0
FENCE_KILL_SECONDS = 0.5  # a worker told to fence that is still alive after this gets SIGKILL
RECOVERY_MARGIN_SECONDS = 0.5  # beyond the fence time, before a restarted node claims its old tasks
_RECLAIMABLE = frozenset({TaskLifecycleStatus.Running.value, TaskLifecycleStatus.Assigning.value})


def keepalive_period(fence_seconds: float) -> float:
    """A quarter of the fence time (at most 1 s): three keep-alives may go missing before a worker fences."""
    return min(LONGEST_KEEPALIVE_SECONDS, fence_seconds / 4)


def old_copies_gone_in(fence_seconds: float, started_at: float, now: float) -> float:
    """Seconds until every worker of this node's previous run has fenced itself: each heard its last
    keep-alive before that run ended, so before this one started at `started_at` (monotonic)."""
    gone_at = started_at + fence_seconds + keepalive_period(fence_seconds) + CHECK_SECONDS + RECOVERY_MARGIN_SECONDS
    return max(0.0, gone_at - now)


class Liveness:
    """When the node last proved it is alive (a heartbeat write that reached live state), and whether
    it must fence. Renewed from the live-state writer thread, judged on the keep-alive thread."""

    def __init__(self, fence_seconds: float) -> None:
        self.fence_seconds = fence_seconds
        self._lock = threading.Lock()
        self._renewed_at: float | None = None  # None until the first heartbeat: nothing to fence yet
        self._gap: float | None = None  # a gap between two renewals longer than the fence time, once
        self.frozen_for = 0.0  # the last such gap (seconds), for `fence_after`

    def renewed(self, sent_at: float) -> None:
        """A heartbeat sent at `sent_at` (monotonic) was written."""
        with self._lock:
            if self._renewed_at is not None and sent_at - self._renewed_at > self.fence_seconds:
                self._gap = sent_at - self._renewed_at
            self._renewed_at = sent_at if self._renewed_at is None else max(self._renewed_at, sent_at)

    def silence(self, now: float) -> float:
        """Seconds since the node last proved it is alive (0 before its first heartbeat)."""
        with self._lock:
            return 0.0 if self._renewed_at is None else max(0.0, now - self._renewed_at)

    def verdict(self, now: float) -> str | None:
        """Why the node must fence its workers now, or None while it is alive."""
        with self._lock:
            gap, self._gap = self._gap, None
            if self._renewed_at is None:
                return None
            silent = now - self._renewed_at
            if gap is not None:
                self.frozen_for = gap  # a frozen node fences every worker: the controller may have moved them
        if silent > self.fence_seconds:
            return f"no heartbeat reached live state for {silent:.1f}s (fence {self.fence_seconds:g}s)"
        if gap is not None:
            return f"{gap:.1f}s passed between two heartbeats (the node was frozen; fence {self.fence_seconds:g}s)"
        return None


def fence_after(fence_seconds: float, lost_after_seconds: float, replace: bool) -> float:
    """How long the node may be cut off before it fences a task's worker: its fence time, or for a task that
    moves only after `lostAfterSeconds` that long less one fence time (the controller waits longer than both
    before moving it); never, for a task that must not be replaced."""
    if not replace:
        return float("inf")
    return max(fence_seconds, lost_after_seconds - fence_seconds)


StartDocument = Callable[[dict[str, Any], int], bool]


def reclaim(store: TaskStore, skald_id: str, task_id: str, attempt: int, start: StartDocument) -> bool:
    """Start a fenced task again with a new attempt if the store still gives `attempt` to this node
    (the controller did not move it meanwhile); True when it started."""
    document = store.get(task_id)
    if document is None or document.get("executor") != skald_id or int(document.get("attempt") or 0) != attempt:
        logger.info(f"task {task_id}: moved on while fenced; not restarting it here")
        return False
    status, wanted = document.get("lifecycleStatus"), lifecycle.desired(document)
    if status not in _RECLAIMABLE:
        logger.info(f"task {task_id}: {status} after the fence; not restarting it")
        return False
    if wanted != DesiredStatus.Running.value:  # its process is gone: what its user asked for is done
        _settle(store, skald_id, task_id, attempt, wanted)
        return False
    claimed = lifecycle.claim(store, task_id, executor=skald_id, attempt=attempt).document
    if claimed is None:
        logger.info(f"task {task_id}: moved on while fenced; not restarting it here")
        return False
    new_attempt = int(claimed.get("attempt") or 0)
    logger.info(f"task {task_id}: still this node's after the fence; starting it again, attempt {new_attempt}")
    return start(claimed, new_attempt)


def _settle(store: TaskStore, skald_id: str, task_id: str, attempt: int, wanted: str) -> None:
    """A fenced task its user wants cancelled is Cancelled; one to be paused is Paused without a node (a
    resume dispatches it again). Neither waits for the controller to call the task lost."""
    if wanted == DesiredStatus.Cancelled.value:
        lifecycle.record_status(store, StatusChange.of(task_id, TaskLifecycleStatus.Cancelled, executor=skald_id,
                                                       attempt=attempt, reason="fenced"))
    else:
        lifecycle.park(store, task_id, executor=skald_id, attempt=attempt)
    logger.info(f"task {task_id}: fenced while its user wanted it {wanted}; recorded so, not restarted")

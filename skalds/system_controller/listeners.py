"""How the parts of the controller tell the dispatcher that there is something to do.

The task service and the monitor hold a DispatchListener; in DISPATCHER mode it is the
dispatcher's DispatchInbox, in CONTROLLER and MONITOR modes NO_DISPATCH. The inbox exists
before the task service and the dispatcher (which needs the task service), so every part gets
its collaborators in its constructor. The calls come from API, monitor and dispatcher threads:
each only sets a flag or an event and never blocks on the dispatcher.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Protocol


class DispatchListener(Protocol):
    def work_waiting(self) -> None:
        """A task became Created (created, released, lost, retried, restarted)."""

    def capacity_freed(self) -> None:
        """A node came online or a task stopped holding one."""

    def task_failed(self) -> None:
        """A task failed; it may have retries left."""

    def tasks_ended(self, task_ids: set[str]) -> None:
        """These tasks hold no node any more (ended, or back to Created)."""


class NoDispatch:
    """The listener of a controller without a dispatcher: nobody to tell."""

    def work_waiting(self) -> None:
        pass

    def capacity_freed(self) -> None:
        pass

    def task_failed(self) -> None:
        pass

    def tasks_ended(self, task_ids: set[str]) -> None:
        pass


NO_DISPATCH = NoDispatch()


class RecentAssignments:
    """Tasks the dispatcher assigned lately and their nodes: the monitor's view of live tasks can be a
    cycle old, so these still count on their node until the view has caught up (or they end)."""

    def __init__(self) -> None:
        self._assigned: dict[str, tuple[str, float]] = {}  # task -> (node, monotonic time)
        self._lock = threading.Lock()  # the monitor thread forgets ended tasks

    def record(self, task_id: str, node_id: str, at: float | None = None) -> None:
        with self._lock:
            self._assigned[task_id] = (node_id, time.monotonic() if at is None else at)

    def forget(self, task_ids: Iterable[str]) -> None:
        with self._lock:
            for task_id in task_ids:
                self._assigned.pop(task_id, None)

    def since(self, horizon: float) -> dict[str, str]:
        """task -> node for assignments after `horizon`; older ones are dropped."""
        with self._lock:
            self._assigned = {task_id: (node, at) for task_id, (node, at) in self._assigned.items()
                              if at > horizon}
            return {task_id: node for task_id, (node, _at) in self._assigned.items()}


class DispatchInbox:
    """The dispatcher's side of DispatchListener: a wake-up event plus what the next pass should do."""

    def __init__(self) -> None:
        self.wakeup = threading.Event()
        self.recent = RecentAssignments()
        self.maybe_waiting = True  # False once a pass saw nothing waiting; set again by new work
        self._retry_scan_requested = False

    def work_waiting(self) -> None:
        self.maybe_waiting = True
        self.wakeup.set()

    def capacity_freed(self) -> None:
        """Worth a pass only if tasks were left waiting."""
        if self.maybe_waiting:
            self.wakeup.set()

    def task_failed(self) -> None:
        self._retry_scan_requested = True
        self.wakeup.set()

    def tasks_ended(self, task_ids: set[str]) -> None:
        self.recent.forget(task_ids)

    @property
    def retry_scan_requested(self) -> bool:
        return self._retry_scan_requested

    def take_retry_scan_request(self) -> bool:
        """True once after task_failed: the next pass scans failed tasks whatever the schedule says."""
        requested, self._retry_scan_requested = self._retry_scan_requested, False
        return requested

"""What the node knows about each worker process it runs, and the table of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from skalds.model.task import Task
from skalds.node.forkserver import WorkerProcess
from skalds.node.stopping import StopDeadlines
from skalds.worker.protocol import OutcomeReport


@dataclass
class WorkerHandle:
    """One running copy of a task: the attempt it holds, its process and pipe, how it is stopping."""

    task: Task
    attempt: int
    process: WorkerProcess
    connection: Connection
    started_at: float = field(default_factory=time.monotonic)
    counter: int = 0
    stop_reason: str | None = None  # "cancel", "shutdown", "lost", "superseded" (a newer attempt replaces it)
    deadlines: StopDeadlines | None = None  # set once a stop was requested
    outcome: OutcomeReport | None = None
    paused: bool = False
    exited: bool = False  # set before its terminal keys are queued: later heartbeats skip it
    fresh_keys_written: threading.Event | None = None  # its fresh heartbeat is in live state (or failed)
    launched_as: str = "forked"  # or "standby": handed to a process forked ahead of time
    payload: bytes | None = None  # the pickled worker, kept until the process reports in (to start it again)
    reported_in: bool = False
    held: tuple[int, dict[str, Any]] | None = None  # the attachments version and values the worker runs with
    sent: dict[int, dict[str, Any]] = field(default_factory=dict)  # versions delivered, not answered yet
    imposed_outcome: OutcomeReport | None = None  # set by the node when it kills the worker (memory limit)
    checkpoint_answered: threading.Event = field(default_factory=threading.Event)  # its @checkpoint_handler ran
    progress: str | None = None  # the worker's latest progress, as written to `task:{id}:progress` (JSON)

    @property
    def task_id(self) -> str:
        return self.task.id


class HandleTable:
    """The running copies by task id, and what waits for each to exit; shared by the node's threads.

    `lock` is reentrant: the supervisor holds it across a check and the change that follows."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._handles: dict[str, WorkerHandle] = {}
        self._after_exit: dict[str, Callable[[], None]] = {}

    def get(self, task_id: str) -> WorkerHandle | None:
        with self.lock:
            return self._handles.get(task_id)

    def add(self, handle: WorkerHandle) -> None:
        with self.lock:
            self._handles[handle.task_id] = handle

    def remove(self, task_id: str) -> None:
        with self.lock:
            self._handles.pop(task_id, None)

    def ids(self) -> list[str]:
        with self.lock:
            return list(self._handles)

    def all(self) -> list[WorkerHandle]:
        with self.lock:
            return list(self._handles.values())

    def __len__(self) -> int:
        return len(self._handles)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._handles

    def after_exit(self, task_id: str, action: Callable[[], None]) -> bool:
        """Keep `action` for when the current copy exits; False when no copy runs."""
        with self.lock:
            if task_id not in self._handles:
                return False
            self._after_exit[task_id] = action
            return True

    def take_after_exit(self, task_id: str) -> Callable[[], None] | None:
        with self.lock:
            return self._after_exit.pop(task_id, None)

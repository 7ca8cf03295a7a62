"""The node's keep-alive thread: every keep-alive period, one small pre-pickled message on every
running worker's pipe, the node's own liveness judged, and the fenced tasks that are still its own
handed on to be started again.

It never waits on the task store or live state (a reclaim reads the store on the `Deferred`
thread) and never blocks on a pipe: a pipe that cannot take the message now (a worker that reads
nothing) is skipped this period. Its cost per period is one `poll` and one write per worker.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable
from functools import partial
from multiprocessing.reduction import ForkingPickler

from skalds.node.deferred import Deferred
from skalds.node.fencing import Liveness, StartDocument, keepalive_period, reclaim
from skalds.node.handles import HandleTable, WorkerHandle
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger
from skalds.worker.protocol import KeepAlive

KEEPALIVE_BYTES = bytes(ForkingPickler.dumps(KeepAlive()))  # what `Connection.send(KeepAlive())` writes


class KeepAliveThread:
    def __init__(self, handles: HandleTable, liveness: Liveness, fence: Callable[[str, float], None],
                 deferred: Deferred, skald_id: str) -> None:
        self.handles = handles
        self.liveness = liveness
        self.fence = fence  # (why, silence): stop the running workers whose fence time has passed, as a release
        self.deferred = deferred
        self.skald_id = skald_id
        self.period = keepalive_period(liveness.fence_seconds)
        self.store: TaskStore | None = None  # with `start`: where fenced tasks are reclaimed
        self.start: StartDocument | None = None
        self._fenced = False
        self._pending: dict[str, int] = {}  # fenced task id -> the attempt it held
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.period):
            self.turn(time.monotonic())

    def turn(self, now: float) -> None:
        why = self.liveness.verdict(now)
        if why is not None:
            if not self._fenced:
                logger.error(f"node {self.skald_id} fences itself: {why}; stopping its workers "
                             "(the controller will move their tasks)")
            self._fenced = True
            self.fence(why, max(self.liveness.silence(now), self.liveness.frozen_for))
            self.send_keepalives(only=_not_fenced)  # a worker its policy lets outlive the outage hears the node
            return
        self.liveness.frozen_for = 0.0
        if self._fenced:
            logger.warning(f"node {self.skald_id}: heartbeats reach live state again; carrying on")
            self._fenced = False
        self.send_keepalives()
        self._reclaim_pending()

    def send_keepalives(self, only: Callable[[WorkerHandle], bool] | None = None) -> None:
        """One keep-alive to every running worker (or those `only` picks) whose pipe can take it now."""
        with self.handles.lock:  # every send to a worker is made under this lock: messages never interleave
            handles = [h for h in self.handles.all() if not h.paused and not h.exited and (only is None or only(h))]
            if not handles:
                return
            for handle in _writable(handles):
                try:
                    handle.connection.send_bytes(KEEPALIVE_BYTES)
                except OSError:
                    continue  # it exited; the reactor sees that

    # --- fenced tasks ------------------------------------------------------------------------
    def fenced(self, task_id: str, attempt: int) -> None:
        """A copy ended fenced: start the task again once the node is alive, if it is still ours."""
        if self.store is None or self.start is None:
            return
        with self._lock:
            self._pending[task_id] = attempt

    def _reclaim_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        store, start = self.store, self.start
        if store is None or start is None:
            return
        for task_id, attempt in pending.items():
            self.deferred.run(partial(reclaim, store, self.skald_id, task_id, attempt, start),
                              f"task {task_id}: restart after the fence")


def _not_fenced(handle: WorkerHandle) -> bool:
    return handle.stop_reason != "fenced"


def _writable(handles: list[WorkerHandle]) -> list[WorkerHandle]:
    """The handles whose pipe can take a small message without blocking (one system call for all)."""
    poller = select.poll()
    by_fd: dict[int, WorkerHandle] = {}
    for handle in handles:
        try:
            fd = handle.connection.fileno()
        except OSError:  # closed: the worker exited
            continue
        poller.register(fd, select.POLLOUT)
        by_fd[fd] = handle
    return [by_fd[fd] for fd, events in poller.poll(0) if events & select.POLLOUT and fd in by_fd]

"""The node's task-store writes, in order, on one thread, batched.

Status changes waiting together go out as one compare-and-set per group (see
`lifecycle.record_statuses`), and a task's statuses queued behind each other (Running
then Finished for a short task) become one write. A status may name a live-state write it must
follow (Running follows the task's fresh heartbeat, so a monitor that sees Running finds it): the
writer waits for that here, never the reactor thread that queued it. While the store is unreachable nothing is
dropped: the writer keeps the queue in order and retries, so the watcher thread never waits
for the store and a burst of finishing tasks costs a few queries instead of one per status.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from skalds.tasks import lifecycle
from skalds.tasks.status_change import StatusChange
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger


@dataclass
class _Status:
    change: StatusChange
    stop_if_lost: bool  # a Running write that finds another owner stops the local copy
    after: threading.Event | None = None  # written only once this is set (or `after_wait_seconds` passed)
    queued_at: float = field(default_factory=time.monotonic)
    held: bool = False  # the head of the queue, seen waiting for `after`


Item = _Status | Callable[[], None]
PREREQUISITE_POLL_SECONDS = 0.005  # how often a held status looks whether the write it follows is done


class StoreWriter:
    def __init__(self, store: TaskStore, on_lost: Callable[[str, int], None], *,
                 retry_seconds: float = 1.0, batch_limit: int = 500, linger_seconds: float = 0.0,
                 after_wait_seconds: float = 1.0) -> None:
        self.store = store
        self.on_lost = on_lost
        self.retry_seconds = retry_seconds
        self.batch_limit = batch_limit
        self.linger_seconds = linger_seconds  # how long a write waits for others to join its batch
        self.after_wait_seconds = after_wait_seconds  # how long a status waits for the write it follows
        self._queue: deque[Item] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._failing_since: float | None = None

    # --- producers -----------------------------------------------------------------------------
    def status(self, change: StatusChange, stop_if_lost: bool = False,
               after: threading.Event | None = None) -> None:
        self._put(_Status(change, stop_if_lost, after))

    def call(self, action: Callable[[], None]) -> None:
        """Any other store write, kept in order with the statuses around it."""
        self._put(action)

    def _put(self, item: Item) -> None:
        with self._cond:
            self._queue.append(item)
            self._cond.notify_all()

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="skalds-store-writer", daemon=True)
        self._thread.start()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued write is applied (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def close(self, timeout: float) -> None:
        """Apply what is queued (up to `timeout`), then stop; whatever is left is reported."""
        self.drain(timeout)
        with self._cond:
            self._closing = True
            left = len(self._queue)
            self._cond.notify_all()
        if left:
            logger.error(f"{left} task-store write(s) not applied: the task store stayed unreachable")
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                # A short task's Running and Finished, queued a few ms apart, become one write.
                while (left := self._linger_left()) > 0 and len(self._queue) < self.batch_limit \
                        and not self._closing:
                    self._cond.wait(left)
                batch = self._take()
                self._busy = True
            try:
                self._wait_for_prerequisites(batch)
                self._apply(batch)
            except Exception as error:
                self._failed(batch, error)
                continue
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
            if self._failing_since is not None:
                logger.info(f"task store reachable again after {time.monotonic() - self._failing_since:.1f}s; "
                            "queued writes applied")
                self._failing_since = None

    def _linger_left(self) -> float:
        """How much longer the status at the head may wait for company (a retried one waits no more).

        A head held back by the write it follows waits for it (looking every few ms), then lingers
        from then on: a short task's Finished, queued meanwhile, still joins its Running."""
        head = self._queue[0]
        if not isinstance(head, _Status):
            return 0.0
        now = time.monotonic()
        if head.after is not None and not head.after.is_set() and now < head.queued_at + self.after_wait_seconds:
            head.held = True
            return PREREQUISITE_POLL_SECONDS
        if head.held:
            head.held, head.queued_at = False, now
        return head.queued_at + self.linger_seconds - now

    def _wait_for_prerequisites(self, batch: list[Item]) -> None:
        for item in batch:
            if isinstance(item, _Status) and item.after is not None and not item.after.is_set():
                item.after.wait(max(0.0, item.queued_at + self.after_wait_seconds - time.monotonic()))

    def _take(self) -> list[Item]:
        """The queue's head: one plain call, or a run of status changes (up to the batch limit)."""
        first = self._queue.popleft()
        if not isinstance(first, _Status):
            return [first]
        batch: list[Item] = [first]
        while self._queue and isinstance(self._queue[0], _Status) and len(batch) < self.batch_limit:
            batch.append(self._queue.popleft())
        return batch

    def _failed(self, batch: list[Item], error: Exception) -> None:
        """Put the batch back at the head, in order, and wait before trying again."""
        with self._cond:
            self._queue.extendleft(reversed(batch))
            closing = self._closing
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            logger.warning(f"task store write failed, will retry in order: {error}")
        else:
            logger.debug(f"task store still unreachable ({len(self._queue)} write(s) queued): {error}")
        if not closing:
            time.sleep(self.retry_seconds)

    def _apply(self, batch: list[Item]) -> None:
        if len(batch) == 1 and not isinstance(batch[0], _Status):
            batch[0]()
            return
        merged: dict[tuple[str, int], StatusChange] = {}
        stop_if_lost: set[tuple[str, int]] = set()
        for item in batch:
            assert isinstance(item, _Status)
            key = (item.change.task_id, item.change.attempt)
            if key in merged:
                merged[key].merge(item.change)
            else:
                merged[key] = item.change.copy()
            if item.stop_if_lost:
                stop_if_lost.add(key)
        lost = lifecycle.record_statuses(self.store, list(merged.values()))
        for task_id, attempt in sorted(lost):
            logger.warning(f"task {task_id}: not recording its status, this node no longer owns attempt {attempt}")
        for task_id, attempt in sorted(lost & stop_if_lost):  # the attempt whose Running found another owner
            self.on_lost(task_id, attempt)

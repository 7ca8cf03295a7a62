"""The node's live-state (Redis) writes, on one thread, in order, one pipeline per batch.

Starting a worker and reaping one each write a few keys (a fresh heartbeat, a terminal code).
Done inline, every start waited for a Redis round trip on the event thread and every exit on
the watcher thread; under load that wait grew with the machine's queue. Queued here instead,
writes that wait together go out as one pipeline, in the order they were queued, so a task's
terminal code is never overwritten by a heartbeat queued before it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from skalds.transport.ports import LiveBatch, LiveState
from skalds.utils.logging import logger

Fill = Callable[[LiveBatch], None]
Applied = Callable[[float], None]  # told the monotonic time its write was sent, once it succeeded
_Item = tuple[Fill, threading.Event, Applied | None]


class LiveWriter:
    def __init__(self, live: LiveState, *, batch_limit: int = 500) -> None:
        self.live = live
        self.batch_limit = batch_limit
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="skalds-live-writer", daemon=True)
        self._thread.start()

    def write(self, fill: Fill, *, wait: float | None = None, applied: Applied | None = None) -> threading.Event:
        """Queue `fill`; the returned event is set once it was applied (or failed), and `applied` is
        called when it succeeded. With `wait`, return only after that or after `wait` seconds."""
        done = threading.Event()
        with self._cond:
            inline = self._closing or self._thread is None  # before start or after close
            if not inline:
                self._queue.append((fill, done, applied))
                self._cond.notify()
        if inline:
            self._apply([(fill, done, applied)])
        elif wait is not None:
            done.wait(wait)
        return done

    def close(self, timeout: float = 5.0) -> None:
        """Apply what is queued, then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.batch_limit))]
            self._apply(batch)

    def _apply(self, batch: list[_Item]) -> None:
        def fill_all(pipeline: LiveBatch) -> None:
            for fill, _, _ in batch:
                fill(pipeline)

        sent_at = time.monotonic()
        try:
            self.live.write(fill_all)
            for _, _, applied in batch:
                if applied is not None:
                    applied(sent_at)
            if self._failing:
                logger.info("live-state writes succeed again")
                self._failing = False
        except Exception as error:  # heartbeats are rewritten every period; nothing here may stop the node
            if not self._failing:
                logger.warning(f"live-state write failed (Redis unreachable?): {error}")
            self._failing = True
        finally:
            for _, done, _ in batch:
                done.set()

"""Ships captured worker lines to the task-log port in batches, on its own thread.

The capture thread only queues (never waits on a service); this thread waits `BATCH_SECONDS` after
the first line so a burst becomes one write, and keeps lines (up to `MAX_QUEUED`) while the service
is unreachable. Lines beyond that are counted and reported per task as one marker line.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

from skalds.transport.errors import ServiceUnavailableError
from skalds.transport.ports import LogLine, TaskLogs
from skalds.utils.logging import logger

BATCH_SECONDS = 0.05
MAX_BATCH = 2000
MAX_QUEUED = 50_000
RETRY_SECONDS = 1.0


class LogShipper:
    def __init__(self, logs: TaskLogs) -> None:
        self.logs = logs
        self._queue: deque[LogLine] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._overflow: Counter[tuple[str, int]] = Counter()
        self.dropped_total = 0  # lines the full queue turned away since the node started
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="skalds-log-shipper", daemon=True)
        self._thread.start()

    def put(self, line: LogLine) -> None:
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                self._overflow[(line.task_id, line.attempt)] += 1
                return
            self._queue.append(line)
        self._wake.set()

    def close(self, timeout: float = 3.0) -> None:
        """Write what is queued (within `timeout`), then stop."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.logs.close()

    def _take(self) -> list[LogLine]:
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
            overflow, self._overflow = self._overflow, Counter()
            self.dropped_total += sum(overflow.values())
        now = int(time.time() * 1000)
        batch += [LogLine(task_id, attempt, "WARNING", now, f"{count} lines dropped: the node's log queue was full",
                          "skalds") for (task_id, attempt), count in overflow.items()]
        return batch

    def _run(self) -> None:
        warned = False
        while True:
            self._wake.wait()
            if not self._closed:
                time.sleep(BATCH_SECONDS)
            self._wake.clear()
            batch = self._take()
            while batch:
                try:
                    self.logs.append(batch)
                    warned = False
                except ServiceUnavailableError as error:
                    if not warned:
                        logger.warning(f"task logs not written yet ({error}); retrying")
                        warned = True
                    if self._closed:
                        return
                    time.sleep(RETRY_SECONDS)
                    continue
                except Exception as error:  # a bug or refused content: lose this batch, not the thread
                    logger.error(f"task logs: {len(batch)} lines lost: {type(error).__name__}: {error}")
                batch = self._take()
            if self._closed:
                return

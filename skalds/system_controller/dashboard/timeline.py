"""Counts of tasks by status over time, and recent activity, sampled by the controller itself.

The overview chart needs history from before the page was opened, so the controller keeps a ring
of samples: the live view's counts every interval (memory, no store query), and the activity
(assignments, finishes, failures) the change feed delivered since the previous sample (`observe`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from skalds.model.task import HistoryType, TaskLifecycleStatus
from skalds.utils.logging import logger

SAMPLE_SECONDS = 5.0
CAPACITY = 720  # one hour at 5 s
RATE_WINDOW_SECONDS = 300
RETRY_SECONDS = 0.25  # a sample that could not be taken (the view not read yet) is tried again this soon


@dataclass
class Sample:
    ts: int  # ms
    counts: dict[str, int]
    assigned: int = 0  # assignments since the previous sample
    finished: int = 0
    failed: int = 0


class StatusTimeline:
    """A ring of samples, filled by a thread between `start()` and `stop()`."""

    def __init__(self, counts: Callable[[], dict[str, int]], interval: float = SAMPLE_SECONDS,
                 capacity: int = CAPACITY) -> None:
        self.counts = counts
        self.interval = interval
        self.samples: deque[Sample] = deque(maxlen=capacity)
        self.started_ms = int(time.time() * 1000)
        self._activity = Sample(ts=0, counts={})  # what the feed delivered since the last sample
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    # --- sampling ------------------------------------------------------------------------------------
    def observe(self, entries: list[dict[str, Any]]) -> None:
        """History entries from the change feed (the follower's thread)."""
        assigned = finished = failed = 0
        for entry in entries:
            kind, status = entry.get("type"), entry.get("status")
            if kind == HistoryType.ASSIGNED.value:
                assigned += 1
            elif kind == HistoryType.STATUS.value and status == TaskLifecycleStatus.Finished.value:
                finished += 1
            elif kind == HistoryType.STATUS.value and status == TaskLifecycleStatus.Failed.value:
                failed += 1
        with self._lock:
            self._activity.assigned += assigned
            self._activity.finished += finished
            self._activity.failed += failed

    def sample_once(self) -> Sample:
        counts = self.counts()
        with self._lock:
            activity, self._activity = self._activity, Sample(ts=0, counts={})
            sample = Sample(ts=int(time.time() * 1000), counts=counts, assigned=activity.assigned,
                            finished=activity.finished, failed=activity.failed)
            self.samples.append(sample)
        return sample

    # --- reading -------------------------------------------------------------------------------------
    def snapshot(self, since_ms: int = 0) -> dict[str, Any]:
        """Rates over the last minutes, and the samples newer than `since_ms` (a polling client sends its last)."""
        with self._lock:
            samples = list(self.samples)
        now = int(time.time() * 1000)
        recent = [sample for sample in samples if sample.ts >= now - RATE_WINDOW_SECONDS * 1000]
        # a controller that started a minute ago has seen one minute of activity, not five
        covered = (now - self.started_ms) / 1000
        minutes = min(max(covered, self.interval), RATE_WINDOW_SECONDS) / 60
        assigned = sum(sample.assigned for sample in recent)
        finished = sum(sample.finished for sample in recent)
        failed = sum(sample.failed for sample in recent)
        return {
            "intervalSeconds": self.interval,
            "samples": [asdict(sample) for sample in samples if sample.ts > since_ms],
            "rates": {"windowSeconds": round(minutes * 60), "assigned": assigned, "finished": finished,
                      "failed": failed, "assignedPerMinute": round(assigned / minutes, 2),
                      "failedPerMinute": round(failed / minutes, 2),
                      "failureRatio": round(failed / (finished + failed), 4) if finished + failed else None},
        }

    # --- thread --------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="skalds-dashboard-timeline", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_once()
                if self._failing:
                    logger.info("dashboard timeline: sampling works again")
                self._failing = False
            except Exception as error:  # the live view is not read yet (or the store was down): soon again
                if not self._failing:
                    logger.warning(f"dashboard timeline: cannot sample task counts ({error}); will retry")
                self._failing = True
                self._stop.wait(min(self.interval, RETRY_SECONDS))
                continue
            self._stop.wait(self.interval)

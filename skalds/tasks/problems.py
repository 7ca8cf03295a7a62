"""Documents in the task store that cannot be used, as found by the reads that skipped them.

One bad document (a field of the wrong type, a missing id) must never stop a monitor cycle, a
dispatch pass or a page of the API: the reads in `queries` skip it and report it here. Each problem
is logged once (per id and reason), counted, and listed by the API until the document is fixed or
deleted. Bounded: at most `limit` distinct documents are remembered (the oldest are forgotten).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from skalds.utils.logging import logger

MAX_PROBLEMS = 1000


@dataclass
class Problem:
    task_id: str
    reason: str
    first_seen_ms: int
    last_seen_ms: int
    times: int = 1

    def to_dict(self) -> dict[str, object]:
        return {"taskId": self.task_id, "reason": self.reason, "firstSeen": self.first_seen_ms,
                "lastSeen": self.last_seen_ms, "times": self.times}


class ProblemLog:
    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.limit = limit
        self.total = 0  # every skip, for the metrics counter
        self._problems: OrderedDict[str, Problem] = OrderedDict()
        self._lock = threading.Lock()

    def report(self, task_id: str, reason: str) -> None:
        now = int(time.time() * 1000)
        with self._lock:
            self.total += 1
            known = self._problems.get(task_id)
            if known is not None and known.reason == reason:
                known.last_seen_ms, known.times = now, known.times + 1
                self._problems.move_to_end(task_id)
                return
            self._problems[task_id] = Problem(task_id, reason, now, now)
            self._problems.move_to_end(task_id)
            while len(self._problems) > self.limit:
                self._problems.popitem(last=False)
        logger.warning(f"task document {task_id}: skipped, {reason} (listed at /api/system/problems)")

    def resolved(self, task_id: str) -> None:
        """A document that reads cleanly again is no longer a problem."""
        if task_id in self._problems:
            with self._lock:
                self._problems.pop(task_id, None)

    def snapshot(self) -> list[Problem]:
        with self._lock:
            return list(reversed(self._problems.values()))

    def clear(self) -> None:
        with self._lock:
            self._problems.clear()
            self.total = 0


PROBLEMS = ProblemLog()
"""The process's problem log: the reads of one process share it, as they share one store."""

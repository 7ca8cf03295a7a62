"""When the leader removes what has been over for longer than TASK_RETENTION_DAYS.

The job knows when the next task falls due — the oldest ended task's time plus the retention, read
once — and the change feed tells it about tasks that end later, so a controller with nothing due
makes no store query; a due cycle is bounded (`retention.remove_expired`).
"""

from __future__ import annotations

import time
from typing import Any

from skalds.model.task import TERMINAL_STATUSES
from skalds.tasks import retention
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger

UNKNOWN = -1


class RetentionJob:
    def __init__(self, store: TaskStore, days: float) -> None:
        self.store = store
        self.keep_ms = int(days * 86400 * 1000)
        self.due_ms: int | None = UNKNOWN  # None: nothing ended yet; UNKNOWN: read it at the next step

    def observe(self, entries: list[dict[str, Any]]) -> None:
        """Entries from the change feed: a task that ends falls due `keep_ms` later."""
        for entry in entries:
            if entry.get("status") in TERMINAL_STATUSES and isinstance(entry.get("ts"), int):
                due = entry["ts"] + self.keep_ms
                if self.due_ms is None or (self.due_ms != UNKNOWN and due < self.due_ms):
                    self.due_ms = due

    def step(self, leader: bool, now_ms: int | None = None) -> int:
        """On the leader: remove what is due (bounded); returns how many tasks were removed."""
        if not leader:
            self.due_ms = UNKNOWN  # a new leader reads the schedule afresh
            return 0
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        if self.due_ms == UNKNOWN:
            oldest = retention.oldest_ended_ms(self.store)
            self.due_ms = None if oldest is None else oldest + self.keep_ms
        if self.due_ms is None or now_ms < self.due_ms:
            return 0
        removed = retention.remove_expired(self.store, now_ms - self.keep_ms)
        self.due_ms = UNKNOWN
        if removed:
            logger.info(f"retention: removed {removed} task(s) over for more than {self.keep_ms / 86400000:g} "
                        "day(s), with their history")
        return removed

"""When to trim a task's history, without counting it on every append.

A store keeps at most `limit` history entries per task (`TASK_HISTORY_LIMIT`). Counting a task's
entries costs a query, so a store counts only every `every` appends it made to that task (about a
tenth of the limit): a history may run over by up to that many entries before it is trimmed back.
The count of appends is per process, bounded (`MAX_TRACKED` tasks; beyond that it starts afresh).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from skalds.model.task import HistoryType

MAX_TRACKED = 100_000
MARKER = HistoryType.HISTORY_TRUNCATED.value


@dataclass
class HistoryCap:
    """`limit` entries per task (0: no cap); a check every `every` appends to a task."""

    limit: int = 0
    every: int = 0
    _appends: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"the history limit must be 0 (no cap) or more, got {self.limit}")
        if self.every <= 0:
            self.every = max(1, min(100, self.limit // 10))

    def due(self, task_ids: Iterable[str]) -> list[str]:
        """Count these appends; the tasks whose history should be counted (and trimmed) now."""
        if not self.limit:
            return []
        if len(self._appends) > MAX_TRACKED:
            self._appends.clear()
        due = []
        for task_id in task_ids:
            count = self._appends.get(task_id, 0) + 1
            if count >= self.every:
                due.append(task_id)
                count = 0
            self._appends[task_id] = count
        return list(dict.fromkeys(due))

    def excess(self, stored: int) -> int:
        """How many of `stored` entries (a marker included) to drop so that `limit` remain, marker included."""
        return max(0, stored - self.limit)


def marker(task_id: str, ts: int, dropped: int) -> dict[str, Any]:
    """The entry that stands for the dropped ones, at the start of the history."""
    return {"taskId": task_id, "ts": ts, "type": MARKER, "dropped": dropped}


def already_dropped(entries: Iterable[dict[str, Any]]) -> int:
    """How many entries earlier trims dropped (from the markers among `entries`)."""
    total = 0
    for entry in entries:
        if entry.get("type") == MARKER and isinstance(entry.get("dropped"), int):
            total += entry["dropped"]
    return total

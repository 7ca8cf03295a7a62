"""Counts of the tasks that are over — by status, class and node — kept beside the live view's map.

The view holds every task that is not over; these counters stand for the rest, so totals over all of
history (0.3.8's counts, the task list's `total`) need no store count. A transition the view cannot
place exactly (a task from a state it never saw, a deletion) marks the fields it cannot account for as
stale, and the follower recounts them once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from skalds.tasks.change_feed import DELETED_FIELDS

FIELDS = DELETED_FIELDS  # what the counters count by: the fields a deletion names


class EndedCounts:
    def __init__(self) -> None:
        self.by: dict[str, Counter[str]] = {field: Counter() for field in FIELDS}
        self.stale: set[str] = set()  # fields whose counters may be off until the next recount

    @classmethod
    def of(cls, totals: Mapping[str, Mapping[str, int]], held: Iterable[Mapping[str, Any]]) -> EndedCounts:
        """Counters from totals over every stored task, less the tasks the view holds."""
        counts, held = cls(), list(held)
        for field in FIELDS:
            in_map = Counter(str(task[field]) for task in held if task.get(field) is not None)
            counts.by[field] = Counter({value: count - in_map.get(value, 0)
                                        for value, count in totals.get(field, {}).items()
                                        if count - in_map.get(value, 0) > 0})
        return counts

    def add(self, document: Mapping[str, Any]) -> None:
        for field in FIELDS:
            if document.get(field) is not None:
                self.by[field][str(document[field])] += 1

    def remove(self, field: str, value: Any) -> None:
        if value is not None and self.by[field][str(value)] > 0:
            self.by[field][str(value)] -= 1

    def count(self, field: str, value: str) -> int | None:
        """How many ended tasks have `field` = `value`; None while that field's counters are stale."""
        return None if field in self.stale else self.by[field].get(value, 0)

"""Counts every task-store operation a controller makes (`skalds_controller_store_operations_total`).

What a controller costs its store is the number this design is judged by: while nothing happens it
should be zero. Counting at the port, not in each caller, makes the number complete.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from skalds.transport.ports import TaskStore


class CountingStore:
    """Wraps a TaskStore; each call of a public method is counted under its name."""

    def __init__(self, store: TaskStore, counter: Counter) -> None:
        self.inner = store
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if name.startswith("_") or not callable(value):
            return value
        child = self._counter.labels(name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            child.inc()
            return value(*args, **kwargs)
        return counted

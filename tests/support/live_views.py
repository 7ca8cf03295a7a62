"""A controller's live view built from a store, for tests that drive the monitor or dispatcher directly."""

from __future__ import annotations

from collections.abc import Iterable

from skalds.model._time import now_ms
from skalds.system_controller.ended_counts import FIELDS
from skalds.system_controller.live_view import LiveView
from skalds.tasks import live_reads, queries
from skalds.transport.ports import TaskStore


class Rereader:
    """What the change feed's follower does when asked to refresh, done at once on the caller's thread."""

    def __init__(self, store: TaskStore, view: LiveView) -> None:
        self.store = store
        self.view = view
        self.asked: list[str] = []

    def refresh(self, task_ids: Iterable[str]) -> None:
        ids = list(task_ids)
        self.asked += ids
        found = live_reads.view_documents(self.store, ids)
        self.view.apply({task_id: found.get(task_id) for task_id in ids}, [], {})

    def rebuild(self) -> LiveView:
        counted_at = now_ms()
        totals = queries.totals(self.store, FIELDS, only_over=True)
        self.view.rebuild(live_reads.live_documents(self.store), totals, counted_at)
        return self.view


def view_of(store: TaskStore) -> Rereader:
    """A Rereader over a fresh view, read from `store` once."""
    rereader = Rereader(store, LiveView())
    rereader.rebuild()
    return rereader

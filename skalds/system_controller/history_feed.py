"""The task history read as a change feed: every entry exactly once, in a stable order.

An entry's `ts` is stamped by its writer just before the insert, so entries do not become
visible in `ts` order: a node's slow batch insert, or a node whose clock runs a little behind,
makes an entry appear with a `ts` older than entries already read. Reading from `newest - lookback`
and skipping ids already seen picks those up; ids older than the window are forgotten.
"""

from __future__ import annotations

from typing import Any

from skalds.transport.ports import TaskStore

LOOKBACK_MS = 3000
PAGE = 1000


class HistoryFeed:
    def __init__(self, store: TaskStore, start_ms: int, *, lookback_ms: int = LOOKBACK_MS, page: int = PAGE,
                 max_pages: int = 20) -> None:
        self.store = store
        self.lookback_ms = lookback_ms
        self.page = page
        self.max_pages = max_pages
        self._floor = start_ms  # entries from before the reader started are not news
        self._newest = start_ms
        self._seen: dict[str, int] = {}

    def read(self) -> list[dict[str, Any]]:
        """Entries not returned before, oldest first (within a call); at most `max_pages` pages."""
        since = max(self._floor, self._newest - self.lookback_ms)
        size = self.page
        fresh: list[dict[str, Any]] = []
        for _ in range(self.max_pages):
            page = self.store.history_since(since, limit=size)
            for entry in page:
                key, ts = str(entry.get("_id")), int(entry["ts"])
                if key not in self._seen:
                    self._seen[key] = ts
                    fresh.append(entry)
            if len(page) < size:
                break
            top = max(int(entry["ts"]) for entry in page)
            if top == since:
                size *= 2  # one millisecond holds a whole page (a large batch insert): read it at once
            since = top
        if fresh:
            self._newest = max(self._newest, max(int(entry["ts"]) for entry in fresh))
        cutoff = self._newest - self.lookback_ms
        self._seen = {key: ts for key, ts in self._seen.items() if ts >= cutoff}
        return fresh

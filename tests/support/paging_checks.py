"""Store-agnostic checks of the task list's paging, run on the embedded store (unit) and on the
MongoDB-wire server (integration): every task exactly once, in order, and which queries were sent."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from skalds.tasks import paging
from skalds.tasks.queries import TaskFilter
from skalds.transport.ports import TaskStore

STATUSES = ("Created", "Running", "Finished", "Failed")
CLASSES = ("Alpha", "Beta", "Gamma")
NODES = ("node-a", "node-b", None)  # None: no executor field at all
FILTERS = {
    "none": TaskFilter(),
    "status": TaskFilter(lifecycle_status="Finished"),
    "class": TaskFilter(class_name="Beta"),
    "executor": TaskFilter(executor="node-a"),
}
FILTER_FIELD = {"status": "lifecycleStatus", "class": "className", "executor": "executor"}
# (filter, sortBy) pairs an index serves with its order (skalds/transport/task_indexes.py)
SERVED = ({("none", key) for key in paging.SORT_KINDS}
          | {(name, key) for name in FILTER_FIELD for key in ("createDateTime", "updateDateTime")}
          | {(name, field) for name, field in FILTER_FIELD.items()})


def document(index: int, rng: random.Random) -> dict[str, Any]:
    """A task with many ties (creation times, priorities) and some keys missing."""
    doc: dict[str, Any] = {
        "id": f"task-{index:05d}", "className": rng.choice(CLASSES), "lifecycleStatus": rng.choice(STATUSES),
        "createDateTime": 1_700_000_000_000 + rng.randrange(40) * 1000, "updateDateTime": 1_700_000_000_000 + index,
        "priority": rng.choice((-2, 0, 0, 3, 9, 10, 11)), "mode": "Passive", "attachments": {}}
    node = rng.choice(NODES)
    if node is not None:
        doc["executor"] = node
    return doc


def seed(store: TaskStore, count: int, seed_value: int = 12) -> list[dict[str, Any]]:
    rng = random.Random(seed_value)
    docs = [document(index, rng) for index in range(count)]
    for doc in docs:
        store.insert(dict(doc))
    return docs


def expected(docs: list[dict[str, Any]], task_filter: TaskFilter, sort_by: str, descending: bool) -> list[str]:
    """The order MongoDB gives: missing keys lowest, ties by id, both in the page's direction."""
    wanted = {key: value for key, value in task_filter.where().items()}
    kept = [doc for doc in docs if all(doc.get(key) == value for key, value in wanted.items())]

    def key(doc: dict[str, Any]) -> tuple[Any, ...]:
        value = doc.get(sort_by)
        return ((0,) if value is None else (1, value)), doc["id"]

    return [doc["id"] for doc in sorted(kept, key=key, reverse=descending)]


def walk(store: TaskStore, task_filter: TaskFilter, sort_by: str, descending: bool, size: int,
         between: Iterator[None] | None = None) -> list[str]:
    """Every id the list gives, page after page by `nextCursor` (`between` runs after each page)."""
    ids: list[str] = []
    cursor = None
    for _ in range(10_000):
        found = paging.page(store, task_filter, sort_by=sort_by, descending=descending, page_size=size,
                            cursor=cursor)
        ids += [doc["id"] for doc in found.documents]
        assert len(found.documents) <= size
        if between is not None:
            next(between, None)
        cursor = found.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


class Recording:
    """The real store, noting each `find` and `count` it is asked for (to explain them afterwards)."""

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.finds: list[tuple[dict[str, Any], list[tuple[str, int]], int]] = []
        self.counts: list[tuple[dict[str, Any], int]] = []

    def find(self, where: dict[str, Any] | None = None, **options: Any) -> list[dict[str, Any]]:
        self.finds.append((dict(where or {}), list(options.get("sort", ())), int(options.get("limit", 0))))
        return self.store.find(where, **options)

    def count(self, where: dict[str, Any] | None = None, **options: Any) -> int:
        self.counts.append((dict(where or {}), int(options.get("limit", 0))))
        return self.store.count(where, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def api_queries(store: TaskStore, size: int = 5) -> Iterator[tuple[str, str, Recording]]:
    """For each filter, sortBy and direction: the queries of a first page and of the next two pages."""
    for name, task_filter in FILTERS.items():
        for sort_by in paging.SORT_KINDS:
            for descending in (True, False):
                recording = Recording(store)
                cursor = None
                for _ in range(3):
                    found = paging.page(recording, task_filter, sort_by=sort_by,  # type: ignore[arg-type]
                                        descending=descending, page_size=size, cursor=cursor)
                    cursor = found.next_cursor
                    if cursor is None:
                        break
                yield name, sort_by, recording

"""Pages of the task list that cost the same on page 1 and page 500: keyset (cursor) paging.

A page is read in the order (sort key, id), both in the page's direction, so one index on (key, id)
serves it ascending and descending (`transport/task_indexes.py`). The cursor names the last item
(its sort key and id); the next page continues after it with range conditions, never `skip`. Each
continuation is split into conjunctive queries that an index answers as one range each:

    descending, after (v, x):  key = v and id < x  |  key < v  |  key missing
    ascending,  after (v, x):  key = v and id > x  |  key > v        (missing keys come first)

Comparisons match only values of the key's kind (numbers or text), as MongoDB's do; a document whose
key holds the other kind (never written by Skalds) is left out of cursor pages. `page` > 1 without a
cursor still reads by `skip`, up to `SKIP_LIMIT` documents deep.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skalds.tasks.queries import TaskFilter, usable
from skalds.transport.ports import TaskStore

SORT_KINDS = {"createDateTime": "number", "updateDateTime": "number", "priority": "number", "id": "text",
              "className": "text", "lifecycleStatus": "text", "executor": "text"}
LOWEST = {"number": -(2 ** 63), "text": ""}  # below every number / every text: "any value of that kind"
SKIP_LIMIT = 10_000  # page * pageSize beyond this is refused without a cursor
COUNT_CAP = 500  # a store count stops here: `total` is then a lower bound (FerretDB decodes each counted match)
MAX_CURSOR = 600  # characters
LiveTotal = Callable[[TaskFilter], "int | None"]


class PagingError(ValueError):
    """A request the list cannot answer as asked (bad cursor, too deep without one)."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort it was read in, its last item's sort key and id, and the total the
    first page counted (the next pages answer it again rather than count again)."""

    sort_by: str
    descending: bool
    value: Any
    last_id: str
    total: int = 0
    total_is_lower_bound: bool = False

    def encode(self) -> str:
        raw = json.dumps([self.sort_by, "desc" if self.descending else "asc", self.value, self.last_id,
                          self.total, self.total_is_lower_bound], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor a page gave; PagingError for anything else."""
        try:
            if len(text) > MAX_CURSOR:
                raise ValueError("too long")
            sort_by, order, value, last_id, total, lower = json.loads(
                base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, TypeError, binascii.Error) as error:
            raise PagingError(f"cursor is not one this API gave: {error}") from error
        kind = SORT_KINDS.get(sort_by)
        if (kind is None or order not in ("asc", "desc") or not isinstance(last_id, str) or not _of_kind(value, kind)
                or not _of_kind(total, "number") or total < 0 or not isinstance(lower, bool)):
            raise PagingError("cursor is not one this API gave")
        return cls(sort_by, order == "desc", value, last_id, total, lower)


def _of_kind(value: Any, kind: str) -> bool:
    if value is None:
        return True
    if kind == "text":
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool) and LOWEST["number"] <= value < 2 ** 63


@dataclass(frozen=True)
class Page:
    documents: list[dict[str, Any]]
    total: int
    total_is_lower_bound: bool
    next_cursor: str | None


def _merge(where: dict[str, Any], field: str, condition: Any) -> dict[str, Any]:
    """`where` and a condition on `field`, both holding (a filter on `id` stays with the keyset's)."""
    merged = dict(where)
    if field in merged and isinstance(condition, dict):
        existing = merged[field]
        existing = existing if isinstance(existing, dict) else {"$eq": existing}
        merged[field] = {**existing, **condition}
    else:
        merged[field] = condition
    return merged


def segments(where: dict[str, Any], cursor: Cursor) -> list[tuple[dict[str, Any], list[tuple[str, int]]]]:
    """The (filter, sort) queries that, read in turn, continue after `cursor` (module docstring)."""
    key, direction = cursor.sort_by, -1 if cursor.descending else 1
    after = {"$lt" if cursor.descending else "$gt": cursor.last_id}
    by_id = [("id", direction)]
    if key == "id" or (key in where and not isinstance(where[key], dict)):  # one value of the key: by id
        return [(_merge(where, "id", after), by_id)]
    by_key = [(key, direction), ("id", direction)]
    same = {"$eq": cursor.value} if cursor.value is not None else None
    ties = (_merge(_merge(where, key, same), "id", after), by_id)
    if cursor.value is None:
        return [ties] if cursor.descending else [ties, (_merge(where, key, {"$gte": LOWEST[SORT_KINDS[key]]}),
                                                        by_key)]
    beyond = (_merge(where, key, {"$lt" if cursor.descending else "$gt": cursor.value}), by_key)
    return [ties, beyond, (_merge(where, key, None), by_id)] if cursor.descending else [ties, beyond]


def _read(store: TaskStore, where: dict[str, Any], cursor: Cursor | None, sort_by: str, descending: bool,
          skip: int, wanted: int) -> list[dict[str, Any]]:
    """Up to `wanted` raw documents in page order."""
    direction = -1 if descending else 1
    if cursor is None:
        fixed = sort_by == "id" or (sort_by in where and not isinstance(where[sort_by], dict))
        order = [("id", direction)] if fixed else [(sort_by, direction), ("id", direction)]
        return store.find(where, sort=order, skip=skip, limit=wanted)
    found: list[dict[str, Any]] = []
    for condition, order in segments(where, cursor):
        found += store.find(condition, sort=order, limit=wanted - len(found))
        if len(found) >= wanted:
            break
    return found


def total(store: TaskStore, task_filter: TaskFilter, live: LiveTotal | None = None) -> tuple[int, bool]:
    """How many tasks match, and whether that is only a lower bound.

    Seam for the controller's live set: `live` answers the filters it holds exactly (active statuses,
    by class or node) and returns None for the others, which the store counts up to `COUNT_CAP`.
    """
    if live is not None:
        known = live(task_filter)
        if known is not None:
            return known, False
    counted = store.count(task_filter.where(), limit=COUNT_CAP + 1)
    return (COUNT_CAP, True) if counted > COUNT_CAP else (counted, False)


def page(store: TaskStore, task_filter: TaskFilter, *, sort_by: str, descending: bool, page_number: int = 1,
         page_size: int = 20, cursor: str | None = None, live: LiveTotal | None = None) -> Page:
    """One page: after `cursor` when given, else page `page_number` (bounded by `SKIP_LIMIT`). The total is
    the live set's when it knows it, else counted on the first page and carried by the cursors."""
    if sort_by not in SORT_KINDS:
        raise PagingError(f"sortBy must be one of {sorted(SORT_KINDS)}")
    after = Cursor.decode(cursor) if cursor else None
    if after is not None and (after.sort_by, after.descending) != (sort_by, descending):
        raise PagingError("the cursor belongs to another sortBy/sortOrder: ask again from the first page")
    skip = 0 if after is not None else (page_number - 1) * page_size
    if after is None and skip + page_size > SKIP_LIMIT:
        raise PagingError(f"page * pageSize must be at most {SKIP_LIMIT}; page on with `cursor` "
                          "(each page's `nextCursor`) to read further")
    raw = _read(store, task_filter.where(), after, sort_by, descending, skip, page_size + 1)
    shown = raw[:page_size]
    known = live(task_filter) if live is not None else None
    if after is not None and known is None:  # counted by the first page
        count, lower_bound = after.total, after.total_is_lower_bound
    else:
        count, lower_bound = (known, False) if known is not None else total(store, task_filter)
        if lower_bound:
            count = max(count, skip + len(shown))
    next_cursor = None
    if len(raw) > page_size and shown:
        value = shown[-1].get(sort_by)
        next_cursor = Cursor(sort_by, descending, value if _of_kind(value, SORT_KINDS[sort_by]) else None,
                             str(shown[-1].get("id")), count, lower_bound).encode()
    return Page(usable(shown), count, lower_bound, next_cursor)

"""The task list pages by cursor on the embedded store: every task once, in order, each query served by an
index (SQLite's EXPLAIN QUERY PLAN); `page` stays bounded; `total` stops at a cap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skalds.tasks import paging
from skalds.tasks.queries import TaskFilter
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore
from support import paging_checks as checks

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteTaskStore]:
    database = SqliteDatabase(tmp_path / "skalds.db")
    store = SqliteTaskStore(database)
    store.ensure_indexes()
    yield store
    database.close()


@pytest.mark.parametrize("sort_by", sorted(paging.SORT_KINDS))
def test_cursor_pages_give_every_task_once_in_order(store: SqliteTaskStore, sort_by: str) -> None:
    docs = checks.seed(store, 120)
    for name, task_filter in checks.FILTERS.items():
        for descending in (True, False):
            got = checks.walk(store, task_filter, sort_by, descending, size=7)
            assert got == checks.expected(docs, task_filter, sort_by, descending), (name, descending)


def test_tasks_created_while_paging_never_repeat_or_hide_the_others(store: SqliteTaskStore) -> None:
    docs = checks.seed(store, 60)
    later = iter(range(1000, 1100))

    def create() -> Iterator[None]:
        while True:
            for _ in range(3):
                index = next(later)
                store.insert({**docs[index % 60], "id": f"new-{index}", "createDateTime": 1_700_000_000_000 + index})
            yield None

    got = checks.walk(store, TaskFilter(), "createDateTime", True, size=8, between=create())
    assert len(got) == len(set(got))
    assert {doc["id"] for doc in docs} <= set(got)


def test_every_list_query_is_served_by_an_index(store: SqliteTaskStore) -> None:
    checks.seed(store, 300)
    for name, sort_by, recording in checks.api_queries(store):
        assert recording.finds, (name, sort_by)
        for where, sort, limit in recording.finds:
            plan = store.plan(where, sort=sort, limit=limit)
            assert any("USING INDEX" in row or "USING COVERING INDEX" in row for row in plan), (name, sort_by, plan)
            if (name, sort_by) in checks.SERVED:
                assert not any("TEMP B-TREE" in row for row in plan), (name, sort_by, where, sort, plan)


def test_page_without_a_cursor_is_bounded(store: SqliteTaskStore) -> None:
    checks.seed(store, 10)
    paging.page(store, TaskFilter(), sort_by="createDateTime", descending=True, page_number=500, page_size=20)
    with pytest.raises(paging.PagingError, match="cursor"):
        paging.page(store, TaskFilter(), sort_by="createDateTime", descending=True, page_number=501, page_size=20)


def test_a_cursor_of_another_sort_or_a_forged_one_is_refused(store: SqliteTaskStore) -> None:
    checks.seed(store, 10)
    first = paging.page(store, TaskFilter(), sort_by="priority", descending=True, page_size=3)
    assert first.next_cursor
    with pytest.raises(paging.PagingError, match="another sortBy"):
        paging.page(store, TaskFilter(), sort_by="priority", descending=False, cursor=first.next_cursor)
    for forged in ("not-base64!", "W10", paging.Cursor("priority", True, "text", "x").encode(), "A" * 700,
                   paging.Cursor("priority", True, 2 ** 70, "x").encode()):
        with pytest.raises(paging.PagingError):
            paging.page(store, TaskFilter(), sort_by="priority", descending=True, cursor=forged)


def test_total_stops_at_the_cap_and_says_so(store: SqliteTaskStore, monkeypatch: pytest.MonkeyPatch) -> None:
    checks.seed(store, 30)
    exact = paging.page(store, TaskFilter(), sort_by="id", descending=False, page_size=5)
    assert (exact.total, exact.total_is_lower_bound) == (30, False)
    monkeypatch.setattr(paging, "COUNT_CAP", 12)
    capped = paging.page(store, TaskFilter(), sort_by="id", descending=False, page_size=5)
    assert (capped.total, capped.total_is_lower_bound) == (12, True)
    deep = paging.page(store, TaskFilter(), sort_by="id", descending=False, page_number=4, page_size=5)
    assert (deep.total, deep.total_is_lower_bound) == (20, True)  # at least what was skipped and shown
    live = paging.page(store, TaskFilter(), sort_by="id", descending=False, page_size=5, live=lambda _f: 30)
    assert (live.total, live.total_is_lower_bound) == (30, False)  # the live set's count, when it knows it


def test_cursor_pages_carry_the_first_pages_total_without_counting(store: SqliteTaskStore) -> None:
    checks.seed(store, 30)
    first = paging.page(store, TaskFilter(), sort_by="id", descending=False, page_size=5)
    recording = checks.Recording(store)
    second = paging.page(recording, TaskFilter(), sort_by="id", descending=False,  # type: ignore[arg-type]
                         page_size=5, cursor=first.next_cursor)
    assert recording.counts == [] and (second.total, second.total_is_lower_bound) == (30, False)
    assert len(recording.finds) == 1  # one index range: the ids after the cursor

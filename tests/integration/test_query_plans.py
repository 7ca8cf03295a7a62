"""On the MongoDB-wire server (FerretDB with our patch, or MongoDB): the task list pages by cursor with
every task once, each query it sends is answered from an index (`explain`), and the history is capped.

FerretDB's explain gives SQLite's plan and whether the filter, sort and limit reached SQLite; MongoDB's
gives the winning plan's stages. Either way: an index, no in-memory sort for the (filter, sortBy) pairs
an index serves (support.paging_checks.SERVED), and a bounded read for the capped count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from skalds.tasks import paging
from skalds.transport.mongo_tasks import MongoTaskStore, mongo_client
from support import history_checks
from support import paging_checks as checks
from support.services import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
def store(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str]) -> MongoTaskStore:
    """A store in a database of its own, with its indexes and a history cap of 30 entries."""
    client = mongo_client(services.mongo_uri)
    request.addfinalizer(client.close)
    request.addfinalizer(lambda: client.drop_database(names["db_name"]))
    created = MongoTaskStore(client, names["db_name"], history_limit=30)
    created.ensure_indexes()
    return created


def _stages(plan: Any) -> Iterator[str]:
    """Every stage name in a MongoDB plan tree."""
    if isinstance(plan, dict):
        if "stage" in plan:
            yield str(plan["stage"])
        for value in plan.values():
            yield from _stages(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from _stages(item)


def counted(explained: dict[str, Any], filtered: bool) -> str | None:
    """Why the explained bounded count is not bounded, or not read from an index when it filters."""
    if "filterPushdown" in explained:
        if not explained["limitPushdown"]:
            return "the count's limit did not reach SQLite"
    elif "LIMIT" not in set(_stages(explained["queryPlanner"]["winningPlan"])):
        return "the count is not limited"
    return served(explained, sorted_by_index=False) if filtered else None


def served(explained: dict[str, Any], *, sorted_by_index: bool) -> str | None:
    """Why the explained query is not answered from an index (None when it is)."""
    if "filterPushdown" in explained:  # FerretDB: SQLite's EXPLAIN QUERY PLAN rows
        rows = [str(row) for row in explained["queryPlanner"].get("Plan", [])]
        if not any("USING INDEX" in row or "USING COVERING INDEX" in row or "USING PRIMARY KEY" in row
                   for row in rows):
            return f"no index in {rows}"
        if sorted_by_index and (not explained["sortPushdown"] or not explained["limitPushdown"]
                                or any("TEMP B-TREE" in row for row in rows)):
            return f"sort/limit not served by SQLite: {explained['sortPushdown']=}, {rows}"
        return None
    stages = set(_stages(explained["queryPlanner"]["winningPlan"]))
    if "IXSCAN" not in stages and "IDHACK" not in stages:
        return f"no index in {stages}"
    if sorted_by_index and "SORT" in stages:
        return f"sorted in memory: {stages}"
    return None


def test_cursor_pages_give_every_task_once_in_order(store: MongoTaskStore) -> None:
    docs = checks.seed(store, 90)
    for sort_by in paging.SORT_KINDS:
        for name, task_filter in checks.FILTERS.items():
            for descending in (True, False):
                got = checks.walk(store, task_filter, sort_by, descending, size=11)
                assert got == checks.expected(docs, task_filter, sort_by, descending), (sort_by, name, descending)


def test_every_list_query_is_answered_from_an_index(store: MongoTaskStore) -> None:
    checks.seed(store, 200)
    problems = []
    for name, sort_by, recording in checks.api_queries(store):
        for where, sort, limit in recording.finds:
            why = served(store.explain(where, sort=sort, limit=limit), sorted_by_index=(name, sort_by) in checks.SERVED)
            if why:
                problems.append((name, sort_by, where, sort, why))
        for where, limit in recording.counts:
            why = counted(store.explain(where, limit=limit, ids_only=True), filtered=bool(where))
            if why:
                problems.append((name, "count", where, limit, why))
    assert problems == []


def test_the_history_of_a_task_is_capped(store: MongoTaskStore) -> None:
    history_checks.fill_and_check(store, limit=30)

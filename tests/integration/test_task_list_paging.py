"""GET /api/tasks pages by cursor through a real controller (embedded family): `nextCursor` reads every
task once, 0.3.8's `page`/`pageSize`/`total` still answer, and what the list cannot do fast is a 422."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore
from support import paging_checks as checks
from support.controller import ControllerFactory
from support.failure_logs import print_logs_on_failure
from support.services import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
def http(request: pytest.FixtureRequest, services: Endpoints, names: dict[str, str], tmp_path: Path) -> httpx.Client:
    """A controller on an embedded file holding 45 seeded tasks (ended long ago: retention is off)."""
    database = tmp_path / "embedded" / "skalds.db"
    database.parent.mkdir()
    store = SqliteTaskStore(SqliteDatabase(database))
    checks.seed(store, 45)
    store.close()
    factory = ControllerFactory(services, names, tmp_path, embedded=database)

    def stop() -> None:
        factory.stop_all()
        print_logs_on_failure(request, {f"controller :{c.port}": c.log for c in factory.started})

    request.addfinalizer(stop)
    return factory.start(TASK_RETENTION_DAYS="0").http


def test_the_list_pages_by_cursor_and_keeps_0_3_8_fields(http: httpx.Client) -> None:
    first = http.get("/api/tasks", params={"pageSize": 10, "sortBy": "priority"}).json()
    assert (first["total"], first["page"], first["pageSize"], first["totalIsLowerBound"]) == (45, 1, 10, False)
    seen = [task["id"] for task in first["items"]]
    cursor = first["nextCursor"]
    while cursor:
        page = http.get("/api/tasks", params={"pageSize": 10, "sortBy": "priority", "cursor": cursor}).json()
        seen += [task["id"] for task in page["items"]]
        cursor = page["nextCursor"]
    assert len(seen) == len(set(seen)) == 45
    by_skip = http.get("/api/tasks", params={"pageSize": 10, "sortBy": "priority", "page": 2}).json()
    assert [task["id"] for task in by_skip["items"]] == seen[10:20]


def test_what_the_list_cannot_answer_fast_is_refused_clearly(http: httpx.Client) -> None:
    deep = http.get("/api/tasks", params={"page": 600, "pageSize": 20})
    assert deep.status_code == 422 and "cursor" in deep.text
    assert http.get("/api/tasks", params={"page": 500, "pageSize": 20}).status_code == 200
    forged = http.get("/api/tasks", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert forged.status_code == 422 and "cursor" in forged.text
    first = http.get("/api/tasks", params={"pageSize": 5}).json()
    other_sort = http.get("/api/tasks", params={"pageSize": 5, "sortOrder": "asc", "cursor": first["nextCursor"]})
    assert other_sort.status_code == 422

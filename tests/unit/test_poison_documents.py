"""One bad document in the store never fails a read: it is skipped, reported once, and listed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from skalds.model.task import Task
from skalds.model.task import TaskLifecycleStatus as S
from skalds.tasks import lifecycle, paging, queries
from skalds.tasks.problems import PROBLEMS, ProblemLog
from skalds.tasks.validation import problem_of
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore

pytestmark = pytest.mark.unit

POISON = {
    "bad-attempt": {"lifecycleStatus": S.Running.value, "executor": "node-a", "attempt": "abc"},
    "bad-executor": {"lifecycleStatus": S.Running.value, "executor": ["a", "b"]},
    "bad-created": {"createDateTime": "yesterday"},
    "bad-status": {"lifecycleStatus": "Exploded"},
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteTaskStore]:
    PROBLEMS.clear()
    database = SqliteDatabase(tmp_path / "skalds.db")
    store = SqliteTaskStore(database)
    for task_id, status in (("good-waiting", S.Created), ("good-running", S.Running)):
        lifecycle.create(store, Task(id=task_id, class_name="W", source="t", lifecycle_status=status,
                                     executor="node-a" if status == S.Running else None).to_document())
    for task_id, fields in POISON.items():
        lifecycle.create(store, Task(id=task_id, class_name="W", source="t").to_document())
        store.update(task_id, fields)
    database.transaction(lambda connection: connection.execute(
        "INSERT INTO tasks (id, doc) VALUES (?, ?)", ("ghost", json.dumps({"className": "W"}))))
    yield store
    database.close()
    PROBLEMS.clear()


def test_reads_skip_bad_documents_and_keep_the_good_ones(store: SqliteTaskStore) -> None:
    assert {d["id"] for d in queries.active(store)} == {"good-running"}
    assert [d["id"] for d in queries.waiting(store, 100)] == ["good-waiting"]
    found = paging.page(store, queries.TaskFilter(), sort_by="createDateTime", descending=True,
                        page_number=1, page_size=100)
    assert {d["id"] for d in found.documents} == {"good-waiting", "good-running"}
    assert found.total == 7  # the count is the store's; the page lists what can be shown
    assert queries.counts_by_status(store) == {"Created": 2, "Running": 3}  # "Exploded" is not a status


def test_each_problem_is_listed_once_with_its_reason_and_counted_each_time(store: SqliteTaskStore) -> None:
    for _ in range(3):
        paging.page(store, queries.TaskFilter(), sort_by="createDateTime", descending=True, page_number=1,
                    page_size=100)
    listed = {problem.task_id: problem for problem in PROBLEMS.snapshot()}
    assert set(listed) == {*POISON, "(no id)"}
    assert "attempt is 'abc', not a number" in listed["bad-attempt"].reason
    assert "executor is ['a', 'b'], not text" in listed["bad-executor"].reason
    assert listed["bad-created"].times == 3
    assert PROBLEMS.total == 15


def test_the_problem_log_is_bounded() -> None:
    log = ProblemLog(limit=3)
    for number in range(10):
        log.report(f"t{number}", "broken")
    assert [problem.task_id for problem in log.snapshot()] == ["t9", "t8", "t7"]
    assert log.total == 10


@pytest.mark.parametrize("document", [{"id": "x", "attempt": True}, {"id": "x\nforged"}, {"id": ""}, [1, 2],
                                      {"id": "x", "attachments": "text"}, {"id": "x", "mode": "Sideways"}])
def test_what_counts_as_unusable(document: object) -> None:
    assert problem_of(document) is not None

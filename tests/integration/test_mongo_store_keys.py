"""The MongoDB task store looks tasks up by `_id` (the task id), and still serves documents written
by Skalds 0.3.8, whose `_id` is an ObjectId, through the slower lookup by `id`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId

from skalds.model.task import TaskLifecycleStatus
from skalds.repository.repository import StatusChange, TaskRepository
from skalds.transport.mongo_tasks import MongoTaskStore, mongo_client
from support.services import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
def store(services: Endpoints, names: dict[str, str]) -> Iterator[MongoTaskStore]:
    client = mongo_client(services.mongo_uri)
    store = MongoTaskStore(client, names["db_name"])
    store.ensure_indexes()
    try:
        yield store
    finally:
        client.drop_database(names["db_name"])
        client.close()


def _document(task_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "className": "Worker", "lifecycleStatus": "Assigning", "executor": "node-a",
            "attempt": 1, "createDateTime": 1, "updateDateTime": 1, "attachments": {}, **fields}


@pytest.fixture
def mixed(store: MongoTaskStore) -> list[str]:
    """Two tasks of ours (`_id` = id) and two as 0.3.8 wrote them (ObjectId `_id`)."""
    store.insert(_document("ours-1"))
    store.insert(_document("ours-2"))
    store.tasks.insert_one({"_id": ObjectId(), **_document("old-1")})
    store.tasks.insert_one({"_id": ObjectId(), **_document("old-2")})
    return ["ours-1", "old-1", "ours-2", "old-2"]


def test_get_and_compare_and_set_work_on_both_kinds_of_document(store: MongoTaskStore, mixed: list[str]) -> None:
    for task_id in mixed:
        assert store.get(task_id)["id"] == task_id
        assert store.update(task_id, {"lifecycleStatus": "Running"}, expect={"executor": "node-b"}) is None
        updated = store.update(task_id, {"lifecycleStatus": "Running"}, expect={"executor": "node-a", "attempt": 1},
                               increment={"attempt": 1})
        assert updated is not None and updated["attempt"] == 2 and "_id" not in updated
    assert store.update("missing", {"lifecycleStatus": "Running"}) is None


def test_find_by_listed_ids_returns_each_matching_document_once(store: MongoTaskStore, mixed: list[str]) -> None:
    found = store.find({"id": [*mixed, "missing", "ours-1"]}, fields=("lifecycleStatus",))
    assert sorted(document["lifecycleStatus"] for document in found) == ["Assigning"] * 4
    assert all(set(document) == {"lifecycleStatus"} for document in found)  # `id` was not asked for
    store.update("old-2", {"executor": "node-b"})
    store.update("ours-2", {"executor": "node-b"})
    owned = store.find({"id": mixed, "executor": "node-a"}, fields=("id", "attempt"))
    assert sorted(document["id"] for document in owned) == ["old-1", "ours-1"]
    assert store.find({"id": []}) == []


def test_grouped_status_write_reaches_both_kinds_and_reports_what_is_not_owned(store: MongoTaskStore,
                                                                               mixed: list[str]) -> None:
    store.update("old-2", {"executor": "node-b"})
    repository = TaskRepository(store)
    changes = [StatusChange.of(task_id, TaskLifecycleStatus.Running, executor="node-a", attempt=1)
               for task_id in mixed]
    assert repository.record_statuses(changes) == {"old-2"}
    statuses = {task_id: store.get(task_id)["lifecycleStatus"] for task_id in mixed}
    assert statuses == {"ours-1": "Running", "old-1": "Running", "ours-2": "Running", "old-2": "Assigning"}
    assert store.update_where(mixed, {"lifecycleStatus": "Finished"}, expect={"executor": "node-a"}) == 3


def test_delete_where_deletes_both_kinds_of_document(store: MongoTaskStore, mixed: list[str]) -> None:
    store.update("ours-2", {"lifecycleStatus": "Finished"})
    store.update("old-2", {"lifecycleStatus": "Finished"})
    deleted = store.delete_where([*mixed, "missing"], expect={"lifecycleStatus": ["Finished"]})
    assert sorted(deleted) == ["old-2", "ours-2"]
    assert store.get("old-2") is None and store.get("ours-2") is None
    assert store.get("old-1") is not None and store.get("ours-1") is not None

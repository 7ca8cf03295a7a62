"""Task store port contract: the same behaviour on MongoDB (FerretDB) and on the embedded SQLite file."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from skalds.model.task import Task
from skalds.transport.ports import DuplicateTaskError, TaskStore
from support.families import Family

pytestmark = pytest.mark.integration


class Attachments(BaseModel):
    a: int
    tags: list[str]


def document(task_id: str, **fields: Any) -> dict[str, Any]:
    base = {"id": task_id, "className": "Worker", "mode": "Passive", "lifecycleStatus": "Created",
            "priority": 0, "createDateTime": 1000, "updateDateTime": 1000, "attachments": {"n": 1}}
    return {**base, **fields}


@pytest.fixture
def store(family: Family) -> TaskStore:
    return family.store()


def test_insert_then_get_returns_the_document_without_internal_fields(store: TaskStore) -> None:
    original = document("t1", attachments={"nested": {"list": [1, 2.5, "x", None, True]}}, executor=None)
    store.insert(original)
    assert store.get("t1") == original
    assert store.get("missing") is None


def test_a_task_document_round_trips(store: TaskStore) -> None:
    task = Task(id="round", class_name="Worker", source="test", attachments=Attachments(a=1, tags=["x"]))
    store.insert(task.to_document())
    assert store.get("round") == task.to_document()
    assert Task.from_document(store.get("round")).id == "round"


def test_a_duplicate_id_is_refused_and_the_first_document_kept(store: TaskStore) -> None:
    store.insert(document("dup", priority=1))
    with pytest.raises(DuplicateTaskError):
        store.insert(document("dup", priority=2))
    assert store.get("dup")["priority"] == 1


def test_update_sets_fields_and_the_update_time(store: TaskStore) -> None:
    store.insert(document("u"))
    updated = store.update("u", {"lifecycleStatus": "Running", "executor": "node-1"})
    assert updated["lifecycleStatus"] == "Running" and updated["executor"] == "node-1"
    assert updated["updateDateTime"] > 1000
    assert store.get("u") == updated


def test_update_of_a_missing_task_returns_none(store: TaskStore) -> None:
    assert store.update("nobody", {"lifecycleStatus": "Running"}) is None
    assert store.get("nobody") is None


def test_compare_and_set_applies_only_when_every_expected_field_matches(store: TaskStore) -> None:
    store.insert(document("cas", executor="node-1", attempt=2))
    assert store.update("cas", {"lifecycleStatus": "Running"}, expect={"executor": "node-2", "attempt": 2}) is None
    assert store.update("cas", {"lifecycleStatus": "Running"}, expect={"executor": "node-1", "attempt": 1}) is None
    assert store.get("cas")["lifecycleStatus"] == "Created"
    hit = store.update("cas", {"lifecycleStatus": "Running"}, expect={"executor": "node-1", "attempt": 2})
    assert hit is not None and hit["lifecycleStatus"] == "Running"


def test_expecting_a_list_means_one_of(store: TaskStore) -> None:
    store.insert(document("one-of", lifecycleStatus="Assigning"))
    assert store.update("one-of", {"x": 1}, expect={"lifecycleStatus": ["Created", "Running"]}) is None
    assert store.update("one-of", {"x": 2}, expect={"lifecycleStatus": ["Created", "Assigning"]})["x"] == 2


def test_expecting_zero_or_none_also_matches_a_missing_field(store: TaskStore) -> None:
    """Documents written by 0.3.8 have no attempt/retryCount: they count as 0."""
    store.insert(document("old"))  # no attempt, no executor
    assert store.update("old", {"a": 1}, expect={"attempt": 0})["a"] == 1
    assert store.update("old", {"b": 1}, expect={"executor": None})["b"] == 1
    assert store.update("old", {"c": 1}, expect={"attempt": 1}) is None
    store.update("old", {"attempt": 0})
    assert store.update("old", {"d": 1}, expect={"attempt": 0})["d"] == 1
    store.update("old", {"attempt": 3})
    assert store.update("old", {"e": 1}, expect={"attempt": 0}) is None


def test_increment_counts_a_missing_field_from_zero(store: TaskStore) -> None:
    store.insert(document("inc"))
    assert store.update("inc", {"executor": "n"}, increment={"attempt": 1})["attempt"] == 1
    assert store.update("inc", None, increment={"attempt": 1, "retryCount": 2}) == {
        **store.get("inc"), "attempt": 2, "retryCount": 2}
    assert store.update("inc", None, expect={"attempt": 1}, increment={"attempt": 1}) is None
    assert store.get("inc")["attempt"] == 2


@pytest.fixture
def filled(store: TaskStore) -> TaskStore:
    rows = [
        ("a-1", "Created", "Passive", "Alpha", 5, 1001, None),
        ("a-2", "Running", "Passive", "Alpha", 1, 1002, "node-1"),
        ("b-1", "Running", "Passive", "Beta", 9, 1003, "node-2"),
        ("B-2", "Failed", "Passive", "Beta", 5, 1004, "node-1"),
        ("c-1", "Finished", "Active", "Gamma", 0, 1005, "node-2"),
    ]
    for task_id, status, mode, class_name, priority, created, executor in rows:
        fields: dict[str, Any] = {"lifecycleStatus": status, "mode": mode, "className": class_name,
                                  "priority": priority, "createDateTime": created, "updateDateTime": created}
        if executor is not None:
            fields["executor"] = executor
        if task_id == "B-2":
            fields["maxRetries"] = 2
        store.insert(document(task_id, **fields))
    return store


def ids(documents: list[dict[str, Any]]) -> list[str]:
    return [d["id"] for d in documents]


def test_find_with_equality_and_lists(filled: TaskStore) -> None:
    assert ids(filled.find({"lifecycleStatus": "Running"}, sort=[("id", 1)])) == ["a-2", "b-1"]
    assert ids(filled.find({"lifecycleStatus": ["Created", "Failed"], "className": "Beta"})) == ["B-2"]
    assert ids(filled.find({"id": ["a-1", "c-1", "zzz"], "executor": "node-2"})) == ["c-1"]
    assert ids(filled.find({"executor": None}, sort=[("id", 1)])) == ["a-1"]
    assert filled.find({"lifecycleStatus": []}) == []


def test_find_with_comparisons_and_a_case_insensitive_literal_substring(filled: TaskStore) -> None:
    assert ids(filled.find({"priority": {"$gt": 4}}, sort=[("id", 1)])) == ["B-2", "a-1", "b-1"]
    assert ids(filled.find({"createDateTime": {"$gte": 1004}}, sort=[("id", 1)])) == ["B-2", "c-1"]
    assert ids(filled.find({"maxRetries": {"$gt": 0}})) == ["B-2"]
    pattern = {"$regex": re.escape("b-"), "$options": "i"}
    assert ids(filled.find({"id": pattern}, sort=[("id", 1)])) == ["B-2", "b-1"]
    assert ids(filled.find({"id": {"$regex": re.escape("b-")}})) == ["b-1"]


def test_find_sorts_skips_and_limits(filled: TaskStore) -> None:
    by_priority = filled.find({"mode": "Passive"}, sort=[("priority", -1), ("createDateTime", 1)])
    assert ids(by_priority) == ["b-1", "a-1", "B-2", "a-2"]
    page = filled.find(None, sort=[("createDateTime", -1)], skip=1, limit=2)
    assert ids(page) == ["B-2", "b-1"]
    assert ids(filled.find({}, sort=[("createDateTime", 1)], skip=4)) == ["c-1"]
    assert ids(filled.find({}, sort=[("createDateTime", 1)], limit=1)) == ["a-1"]


def test_find_sorts_a_missing_field_first_when_ascending(filled: TaskStore) -> None:
    assert ids(filled.find({}, sort=[("executor", 1), ("id", 1)]))[0] == "a-1"
    assert ids(filled.find({}, sort=[("executor", -1), ("id", 1)]))[-1] == "a-1"


def test_find_returns_only_the_requested_fields(filled: TaskStore) -> None:
    rows = filled.find({"lifecycleStatus": ["Created", "Running"]}, sort=[("id", 1)],
                       fields=("id", "executor", "attempt", "attachments"))
    assert rows == [{"id": "a-1", "attachments": {"n": 1}},
                    {"id": "a-2", "executor": "node-1", "attachments": {"n": 1}},
                    {"id": "b-1", "executor": "node-2", "attachments": {"n": 1}}]


def test_count_and_group_count(filled: TaskStore) -> None:
    assert filled.count() == 5
    assert filled.count({"executor": "node-1"}) == 2
    assert filled.count({"updateDateTime": {"$gte": 1003}, "lifecycleStatus": "Running"}) == 1
    assert filled.group_count("lifecycleStatus") == {"Created": 1, "Running": 2, "Failed": 1, "Finished": 1}
    assert filled.group_count("className", {"mode": "Passive"}) == {"Alpha": 2, "Beta": 2}
    assert filled.group_count("executor") == {None: 1, "node-1": 2, "node-2": 2}


def test_group_counts_count_each_field_in_one_pass(filled: TaskStore) -> None:
    """The live view's start-up totals: the same numbers as one `group_count` per field, missing values as None."""
    fields = ("lifecycleStatus", "className", "executor")
    where = {"lifecycleStatus": ["Running", "Failed", "Finished"]}
    assert filled.group_counts(fields, where) == {field: filled.group_count(field, where) for field in fields}
    assert filled.group_counts(fields)["executor"] == {None: 1, "node-1": 2, "node-2": 2}
    assert filled.group_counts(["attachments.n"]) == {"attachments.n": filled.group_count("attachments.n")}


def test_a_count_with_a_limit_stops_there(filled: TaskStore) -> None:
    assert filled.count(limit=3) == 3
    assert filled.count({"lifecycleStatus": "Running"}, limit=100) == 2
    assert filled.count({"className": "Beta", "priority": 5}, limit=1) == 1


def test_history_is_kept_per_task_oldest_first(store: TaskStore) -> None:
    store.append_history("h1", {"type": "created", "className": "Worker"})
    store.append_history("h2", {"type": "created"})
    store.append_history("h1", {"type": "status", "status": "Running"})
    entries = store.history("h1")
    assert [(e["taskId"], e["type"]) for e in entries] == [("h1", "created"), ("h1", "status")]
    assert all("_id" not in entry and isinstance(entry["ts"], int) for entry in entries)
    assert entries[0]["ts"] <= entries[1]["ts"]
    assert store.history("nobody") == []


def test_ping_answers(store: TaskStore) -> None:
    store.ping()


def test_update_where_changes_only_the_matching_tasks(store: TaskStore) -> None:
    for task_id, attempt in (("w1", 1), ("w2", 1), ("w3", 2)):
        store.insert(document(task_id, executor="node-1", attempt=attempt))
    changed = store.update_where(["w1", "w2", "w3", "missing"], {"lifecycleStatus": "Running"},
                                 expect={"executor": "node-1", "attempt": 1})
    assert changed == 2
    assert [store.get(task_id)["lifecycleStatus"] for task_id in ("w1", "w2", "w3")] == ["Running", "Running",
                                                                                         "Created"]
    assert store.get("w1")["updateDateTime"] > 1000 and store.get("w3")["updateDateTime"] == 1000


def test_append_history_many_keeps_the_order(store: TaskStore) -> None:
    store.append_history_many([("m1", {"type": "status", "n": 1}), ("m2", {"type": "status", "n": 2}),
                               ("m1", {"type": "status", "n": 3})])
    store.append_history_many([])
    assert [entry["n"] for entry in store.history("m1")] == [1, 3]
    assert [entry["n"] for entry in store.history("m2")] == [2]


def test_delete_where_removes_only_matching_tasks_and_their_history(store: TaskStore) -> None:
    for task_id, status in (("d1", "Finished"), ("d2", "Running"), ("d3", "Cancelled")):
        store.insert(document(task_id, lifecycleStatus=status))
        store.append_history(task_id, {"type": "status", "status": status})
    terminal = {"lifecycleStatus": ["Finished", "Failed", "Cancelled"]}
    assert sorted(store.delete_where(["d1", "d2", "d3", "missing", "d1"], expect=terminal)) == ["d1", "d3"]
    assert store.get("d1") is None and store.get("d3") is None and store.get("d2") is not None
    assert store.history("d1") == [] and store.history("d3") == []
    assert [entry["status"] for entry in store.history("d2")] == ["Running"]
    assert store.delete_where([], expect=terminal) == []
    assert store.delete_where(["d2"], expect=terminal) == []

"""Batched dispatch on both stores (FerretDB and the embedded SQLite file): one compare-and-set round trip
per batch that applies only where the read status and attempt still hold, history for the applied tasks
only, and one assign event per node."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from skalds.system_controller.dispatcher import Dispatcher
from skalds.system_controller.listeners import DispatchInbox
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.task_service import TaskService
from skalds.tasks import batch_assign, queries
from skalds.transport.ports import Change, TaskStore
from skalds.transport.wire_names import KafkaTopic
from support.families import Family, drain, quiet, unique
from support.live_views import view_of

pytestmark = pytest.mark.integration


def document(task_id: str, **fields: Any) -> dict[str, Any]:
    base = {"id": task_id, "className": "Work", "mode": "Passive", "lifecycleStatus": "Created", "priority": 0,
            "createDateTime": 1000, "updateDateTime": 1000, "attempt": 0, "executor": None, "attachments": {}}
    return {**base, **fields}


@pytest.fixture
def store(family: Family) -> TaskStore:
    return family.store()


class View:
    """Fixed nodes; the tasks are a live view read from the store at each look (the feed caught up)."""

    def __init__(self, nodes: dict[str, NodeRecord], store: TaskStore) -> None:
        self._nodes, self.store = nodes, store
        self.stale_ids: list[str] = []

    def nodes(self) -> dict[str, NodeRecord]:
        return self._nodes

    def active_tasks(self) -> dict[str, dict[str, Any]]:
        return {}

    def waiting(self, limit: int, classes: Collection[str] | None = None) -> list[dict[str, Any]]:
        return view_of(self.store).view.waiting(limit, classes)

    def failed_with_retries(self, limit: int) -> list[dict[str, Any]]:
        return view_of(self.store).view.failed_with_retries()[:limit]

    def stale(self, task_ids: list[str]) -> None:
        self.stale_ids += task_ids


def test_update_each_applies_only_the_changes_whose_expectations_hold(store: TaskStore) -> None:
    for task_id, attempt in (("e1", 0), ("e2", 3), ("e3", 0)):
        store.insert(document(task_id, attempt=attempt))
    applied = store.update_each([
        Change("e1", {"executor": "n1"}, expect={"lifecycleStatus": "Created", "attempt": 0}, increment={"attempt": 1}),
        Change("e2", {"executor": "n1"}, expect={"lifecycleStatus": "Created", "attempt": 2}, increment={"attempt": 1}),
        Change("e3", {"executor": "n2"}, expect={"lifecycleStatus": "Running"}),
        Change("gone", {"executor": "n2"}, expect={}),
    ])
    assert applied == ["e1"]
    assert (store.get("e1")["executor"], store.get("e1")["attempt"]) == ("n1", 1)
    assert store.get("e1")["updateDateTime"] > 1000
    assert [store.get(task_id) for task_id in ("e2", "e3")] == [document("e2", attempt=3), document("e3")]
    assert store.update_each([]) == []
    with pytest.raises(ValueError):
        store.update_each([Change("e1", {"x": 1}, expect={}), Change("e1", {"x": 2}, expect={})])


def test_update_each_applies_all_when_nothing_changed(store: TaskStore) -> None:
    ids = [f"all-{i}" for i in range(300)]
    for task_id in ids:
        store.insert(document(task_id))
    changes = [Change(task_id, {"executor": "n1"}, expect={"attempt": 0}, increment={"attempt": 1}) for task_id in ids]
    assert store.update_each(changes) == ids
    assert {task["attempt"] for task in store.find({"id": ids})} == {1}


def test_alike_changes_written_together_still_fence_each_task(store: TaskStore) -> None:
    """60 tasks for one node at one attempt travel in one update statement: the three changed meanwhile keep
    their state, every other task is assigned once."""
    ids = [f"alike-{i:02d}" for i in range(60)]
    for task_id in ids:
        store.insert(document(task_id))
    changed = {"alike-07": "Cancelled", "alike-31": "Paused", "alike-59": "Cancelled"}
    for task_id, status in changed.items():
        store.update(task_id, {"lifecycleStatus": status})
    changes = [Change(task_id, {"executor": "n1", "lifecycleStatus": "Assigning"},
                      expect={"lifecycleStatus": "Created", "attempt": 0}, increment={"attempt": 1}) for task_id in ids]
    assert store.update_each(changes) == [task_id for task_id in ids if task_id not in changed]
    stored = {task["id"]: task for task in store.find({"id": ids})}
    assert {(task["executor"], task["attempt"]) for task_id, task in stored.items() if task_id not in changed} == {
        ("n1", 1)}
    assert {task_id: (stored[task_id]["lifecycleStatus"], stored[task_id]["attempt"]) for task_id in changed} == {
        task_id: (status, 0) for task_id, status in changed.items()}


def test_update_each_reaches_a_task_stored_by_0_3_8(cluster) -> None:
    """Only MongoDB holds documents with an ObjectId `_id` (written by 0.3.8): the test's own database there."""
    store = cluster.store
    store.ensure_indexes()
    store.tasks.insert_one(document("legacy"))
    store.insert(document("keyed"))
    applied = store.update_each([Change(task_id, {"executor": "n1"}, expect={"lifecycleStatus": "Created"})
                                 for task_id in ("legacy", "keyed")])
    assert applied == ["legacy", "keyed"] and store.get("legacy")["executor"] == "n1"


def test_a_batch_skips_tasks_changed_since_they_were_read(store: TaskStore) -> None:
    for index in range(5):
        store.insert(document(f"b{index}", attempt=index % 2))
    read = queries.waiting(store, 10)
    store.update("b1", {"lifecycleStatus": "Cancelled"})  # a user cancelled it meanwhile
    store.update("b2", {"executor": "other"}, increment={"attempt": 1})  # another attempt since the read
    store.update("b3", {"lifecycleStatus": "Assigning", "executor": "other"}, increment={"attempt": 1})
    applied = batch_assign.assign_many(store, [(task, "n1" if task["id"] < "b3" else "n2") for task in read])
    assert sorted(task["id"] for task in applied) == ["b0", "b4"]
    for task_id in ("b0", "b4"):
        stored = store.get(task_id)
        assert (stored["lifecycleStatus"], stored["attempt"]) == ("Assigning", 1)
        assert stored["executor"] == ("n1" if task_id == "b0" else "n2")
        assert [(e["type"], e["executor"], e["attempt"]) for e in store.history(task_id)] == [
            ("assigned", stored["executor"], 1)]
    assert store.get("b1")["lifecycleStatus"] == "Cancelled" and store.get("b1")["executor"] is None
    assert (store.get("b2")["executor"], store.get("b2")["attempt"]) == ("other", 1)
    assert (store.get("b3")["executor"], store.get("b3")["attempt"]) == ("other", 2)
    assert all(store.history(task_id) == [] for task_id in ("b1", "b2", "b3"))


def test_the_dispatcher_sends_one_assign_event_per_node(family: Family, store: TaskStore) -> None:
    topic, = family.topics(KafkaTopic.TASK_ASSIGN)
    consumer = family.consumer(unique("g-"), [topic])
    inbox = DispatchInbox()
    service = TaskService(store, family.publisher(), family.config.kafka_topic_prefix, listener=inbox)
    ids = [f"d{index:03d}" for index in range(40)]
    for index, task_id in enumerate(ids):
        store.insert(document(task_id, attempt=2 if index == 0 else 0, createDateTime=1000 + index))
    nodes = {node_id: NodeRecord(id=node_id, online=True, supported_tasks=["Work"]) for node_id in ("n1", "n2")}
    view = View(nodes, store)
    dispatcher = Dispatcher(service, view, inbox, ControllerMetrics(), strategy="ROUND_ROBIN", default_capacity=0,
                            retry_backoff_seconds=1.0, batch=25)
    assert dispatcher.dispatch_once() == 40
    events = [json.loads(event.value or b"") for event in drain(consumer, 5) + quiet(consumer, 1.0)]
    # two batches (25 + 15) over two nodes, round robin; d000 (read at attempt 2) is attempt 3, in its own event
    assert sorted((event["recipient"], event["attempt"], len(event["taskIds"])) for event in events) == [
        ("n1", 1, 7), ("n1", 1, 12), ("n1", 3, 1), ("n2", 1, 8), ("n2", 1, 12)]
    assert sorted(task_id for event in events for task_id in event["taskIds"]) == ids
    for event in events:
        stored = store.find({"id": event["taskIds"]})
        assert {(task["executor"], task["attempt"]) for task in stored} == {(event["recipient"], event["attempt"])}
    assert read_by_0_3_8([json.dumps(event) for event in events]) == [event["taskIds"] for event in events]


def test_a_flood_of_a_class_without_room_hides_no_other_class(family: Family, store: TaskStore) -> None:
    """More waiting tasks of a class no node can take than the dispatcher looks at in one pass, older and of a
    higher priority than a task another node can take: that task is assigned, and the flood still counts as
    waiting (capacity freed later wakes a pass)."""
    inbox = DispatchInbox()
    service = TaskService(store, family.publisher(), family.config.kafka_topic_prefix, listener=inbox)
    for index in range(12):
        store.insert(document(f"flood{index:02d}", className="Flood", priority=5, createDateTime=1000 + index))
    store.insert(document("other", createDateTime=2000))
    view = View({"n1": NodeRecord(id="n1", online=True, supported_tasks=["Work"])}, store)
    dispatcher = Dispatcher(service, view, inbox, ControllerMetrics(), strategy="LEAST_TASKS", default_capacity=0,
                            retry_backoff_seconds=1.0, batch=4, window=8)
    assert dispatcher.dispatch_once() == 1
    assert store.get("other")["executor"] == "n1"
    assert {task["lifecycleStatus"] for task in store.find({"className": "Flood"})} == {"Created"}
    assert inbox.maybe_waiting


def read_by_0_3_8(values: list[str]) -> list[list[str]]:
    """The task ids a Skalds 0.3.8 node takes from each assign event (its own TaskEvent model parses it)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    python = Path(os.environ.get("SKALDS_BASELINE_VENV") or cache / "skalds/bench/venv-skalds-0.3.8") / "bin/python"
    if not python.exists():
        pytest.fail(f"Skalds 0.3.8 is not installed at {python.parent.parent}: run bench/setup_baseline.sh "
                    "(scripts/test does)")
    script = ("import json, sys\nfrom skalds.model.event import TaskEvent\n"
              "print(json.dumps([TaskEvent.model_validate_json(v).task_ids for v in json.load(sys.stdin)]))")
    done = subprocess.run([str(python), "-c", script], input=json.dumps(values), capture_output=True, text=True,
                          timeout=60, check=True, env={"PATH": "/usr/bin:/bin"})
    return json.loads(done.stdout.strip().splitlines()[-1])

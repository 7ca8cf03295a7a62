"""The embedded family is correct for several OS processes sharing one SQLite file."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventConsumer
from skalds.transport.sqlite_tasks import SqliteTaskStore
from support import embedded_procs

pytestmark = pytest.mark.integration

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "shared.db")


def test_concurrent_compare_and_set_loses_no_update(path: str) -> None:
    store = SqliteTaskStore(SqliteDatabase(path))
    store.insert({"id": "counter", "counter": 0})
    start = SPAWN.Manager().Barrier(3)  # all three begin together
    with SPAWN.Pool(3) as pool:
        pending = [pool.apply_async(embedded_procs.cas_increments, (path, "counter", 100, start)) for _ in range(3)]
        [result.get(120) for result in pending]
    assert store.get("counter")["counter"] == 300
    store.close()


def test_concurrent_increments_are_all_counted(path: str) -> None:
    store = SqliteTaskStore(SqliteDatabase(path))
    store.insert({"id": "hits"})
    start = SPAWN.Manager().Barrier(2)
    with SPAWN.Pool(2) as pool:
        pending = [pool.apply_async(embedded_procs.atomic_increments, (path, "hits", 200, start)) for _ in range(2)]
        [result.get(120) for result in pending]
    assert store.get("hits")["hits"] == 400
    store.close()


def test_consumers_in_two_processes_and_groups_each_see_every_event(path: str) -> None:
    manager = SPAWN.Manager()
    ready, results = manager.Queue(), manager.Queue()
    keys = [f"task-{index}" for index in range(60)]
    consumers = [SPAWN.Process(target=embedded_procs.consume, args=(path, group, ["t.assign", "t.cancel"],
                                                                     len(keys), ready, results))
                 for group in ("node-a", "node-b")]
    for process in consumers:
        process.start()
    assert {ready.get(timeout=60), ready.get(timeout=60)} == {"node-a", "node-b"}
    publishers = [SPAWN.Process(target=embedded_procs.publish, args=(path, "t.assign", keys[:30])),
                  SPAWN.Process(target=embedded_procs.publish, args=(path, "t.cancel", keys[30:]))]
    for process in publishers:
        process.start()
    received = dict(results.get(timeout=90) for _ in consumers)
    for process in [*publishers, *consumers]:
        process.join(30)
        assert process.exitcode == 0
    for group in ("node-a", "node-b"):
        assert sorted(received[group]) == sorted(keys)
        got = received[group]
        assert [k for k in got if k in keys[:30]] == keys[:30]  # per topic in publish order
        assert [k for k in got if k in keys[30:]] == keys[30:]


def test_an_event_taken_by_a_process_that_died_before_committing_comes_again(path: str) -> None:
    SqliteEventConsumer(SqliteDatabase(path), "node-x", ["t.assign"]).close()  # the group exists
    embedded_procs.publish(path, "t.assign", ["job-1"])
    done = SPAWN.Manager().Queue()
    crashed = SPAWN.Process(target=embedded_procs.consume_and_crash, args=(path, "node-x", "t.assign", done))
    crashed.start()
    crashed.join(60)
    assert crashed.exitcode == 3 and done.get(timeout=5) == "job-1"
    again = SqliteEventConsumer(SqliteDatabase(path), "node-x", ["t.assign"])
    event = again.poll(10)
    assert event is not None and (event.key, event.value) == ("job-1", b"value-job-1")
    again.close()


def test_only_one_of_several_processes_takes_a_lease(path: str) -> None:
    start = SPAWN.Manager().Barrier(4)
    with SPAWN.Pool(4) as pool:
        pending = [pool.apply_async(embedded_procs.take_lease, (path, f"owner-{i}", start)) for i in range(4)]
        winners = [result.get(60) for result in pending]
    assert winners.count(True) == 1

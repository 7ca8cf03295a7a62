"""Functions run in separate OS processes against one embedded SQLite file (multi-process tests).

Each opens its own adapters, as a node or a controller process would.
"""

from __future__ import annotations

import os
from typing import Any

from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventConsumer, SqliteEventPublisher
from skalds.transport.sqlite_state import SqliteLiveState
from skalds.transport.sqlite_tasks import SqliteTaskStore


def cas_increments(path: str, task_id: str, times: int, start: Any) -> int:
    """Read, then compare-and-set counter+1, `times` times; returns how many CAS attempts lost."""
    store = SqliteTaskStore(SqliteDatabase(path))
    start.wait()
    lost = 0
    for _ in range(times):
        while True:
            current = store.get(task_id)["counter"]
            if store.update(task_id, {"counter": current + 1}, expect={"counter": current}) is not None:
                break
            lost += 1
    store.close()
    return lost


def atomic_increments(path: str, task_id: str, times: int, start: Any) -> None:
    store = SqliteTaskStore(SqliteDatabase(path))
    start.wait()
    for _ in range(times):
        assert store.update(task_id, None, increment={"hits": 1}) is not None
    store.close()


def consume(path: str, group: str, topics: list[str], count: int, ready: Any, results: Any) -> None:
    """Join `group`, say so, then report the keys of the next `count` events (committing each)."""
    consumer = SqliteEventConsumer(SqliteDatabase(path), group, topics)
    ready.put(group)
    keys = []
    while len(keys) < count:
        event = consumer.poll(30)
        if event is None:
            break
        keys.append(event.key)
        consumer.commit(event)
    consumer.close()
    results.put((group, keys))


def publish(path: str, topic: str, keys: list[str]) -> None:
    publisher = SqliteEventPublisher(SqliteDatabase(path))
    for key in keys:
        publisher.publish(topic, key, f"value-{key}")
    publisher.close()


def consume_and_crash(path: str, group: str, topic: str, done: Any) -> None:
    """Take one event without committing it, then die without closing anything."""
    consumer = SqliteEventConsumer(SqliteDatabase(path), group, [topic])
    event = consumer.poll(30)
    done.put(event.key if event is not None else None)
    os._exit(3)


def take_lease(path: str, owner: str, start: Any) -> bool:
    live = SqliteLiveState(SqliteDatabase(path))
    start.wait()
    won = live.acquire_lease("leader", owner, 30)
    live.close()
    return won

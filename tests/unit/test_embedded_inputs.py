"""Bad input to the embedded adapters: a clear error, and nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_events import SqliteEventConsumer, SqliteEventPublisher
from skalds.transport.sqlite_state import SqliteLiveState
from skalds.transport.sqlite_tasks import SqliteTaskStore

pytestmark = pytest.mark.unit


@pytest.fixture
def database(tmp_path: Path) -> SqliteDatabase:
    return SqliteDatabase(tmp_path / "skalds.db")


@pytest.fixture
def store(database: SqliteDatabase) -> SqliteTaskStore:
    store = SqliteTaskStore(database)
    store.insert({"id": "t", "attempt": 1, "label": "x"})
    return store


@pytest.mark.parametrize("where, message", [
    ({"$or": [{"a": 1}]}, "unsupported top-level filter operator"),
    ({"a": {"$where": "1"}}, "unsupported filter operator '\\$where'"),
    ({"a": {"$regex": "("}}, "invalid \\$regex"),
    ({"a": {"$regex": "x", "$options": "m"}}, "unsupported \\$options"),
    ({"a": {"$in": "abc"}}, "needs a list"),
    ({"a": {"$gt": None}}, "needs a number or text"),
    ({"a": {"plain": 1}}, "must hold operators"),
    ({"a b": 1}, "unsupported task field name"),
    ({"a'); DROP TABLE tasks; --": 1}, "unsupported task field name"),
    ({"a": [object()]}, "unsupported value"),
])
def test_unsupported_filters_are_refused_by_name(store: SqliteTaskStore, where: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.find(where)
    with pytest.raises(ValueError, match=message):
        store.count(where)
    assert store.count() == 1


def test_bad_sorts_and_pages_are_refused(store: SqliteTaskStore) -> None:
    with pytest.raises(ValueError, match="sort direction"):
        store.find({}, sort=[("id", 2)])
    with pytest.raises(ValueError, match="field name"):
        store.find({}, sort=[("id desc", 1)])
    with pytest.raises(ValueError, match="negative"):
        store.find({}, skip=-1)


@pytest.mark.parametrize("document, message", [
    ({"name": "no id"}, "non-empty string `id`"),
    ({"id": ""}, "non-empty string `id`"),
    ({"id": 5}, "non-empty string `id`"),
    ({"id": "bad", "value": {1, 2}}, "cannot be stored as JSON"),
    ({"id": "bad", "value": float("nan")}, "cannot be stored as JSON"),
])
def test_documents_that_cannot_be_stored_are_refused(store: SqliteTaskStore, document: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.insert(document)
    assert store.count() == 1


def test_bad_updates_change_nothing(store: SqliteTaskStore) -> None:
    before = store.get("t")
    with pytest.raises(ValueError, match="cannot be changed"):
        store.update("t", {"id": "other"})
    with pytest.raises(ValueError, match="cannot increment 'label'"):
        store.update("t", {"attempt": 9}, increment={"label": 1})
    with pytest.raises(ValueError, match="must be a number"):
        store.update("t", None, increment={"attempt": "1"})
    with pytest.raises(ValueError, match="both set and incremented"):
        store.update("t", {"attempt": 3}, increment={"attempt": 1})
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        store.update("t", {"x": object()})
    assert store.get("t") == before


def test_a_history_entry_with_a_bad_timestamp_is_refused(store: SqliteTaskStore) -> None:
    with pytest.raises(ValueError, match="ts must be an integer"):
        store.append_history("t", {"ts": "yesterday"})
    assert store.history("t") == []


def test_a_write_batch_with_a_bad_value_writes_nothing(database: SqliteDatabase) -> None:
    live = SqliteLiveState(database)

    def fill(batch) -> None:
        batch.set("first", "ok")
        batch.set("second", None)
    with pytest.raises(ValueError, match="text or numbers"):
        live.write(fill)
    with pytest.raises(ValueError, match="positive number of seconds"):
        live.write(lambda batch: (batch.set("first", "ok"), batch.set("x", "1", ttl=-1)))
    assert live.get("first") is None
    live.write(lambda batch: batch.hset("h", "n", 3))  # numbers are stored as their text, as Redis does
    assert live.hgetall("h") == {"n": "3"}


def test_a_lease_needs_an_owner_and_a_positive_ttl(database: SqliteDatabase) -> None:
    live = SqliteLiveState(database)
    with pytest.raises(ValueError, match="owner"):
        live.acquire_lease("leader", "", 5)
    with pytest.raises(ValueError, match="positive TTL"):
        live.acquire_lease("leader", "a", 0)
    assert live.get("leader") is None


def test_events_need_a_topic_a_key_a_group_and_topics(database: SqliteDatabase) -> None:
    publisher = SqliteEventPublisher(database)
    with pytest.raises(ValueError, match="topic"):
        publisher.publish("", "k", "v")
    with pytest.raises(ValueError, match="key"):
        publisher.publish("t", None, "v")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="group id"):
        SqliteEventConsumer(database, "", ["t"])
    with pytest.raises(ValueError, match="at least one topic"):
        SqliteEventConsumer(database, "g", [])


def test_a_closed_adapter_says_so(database: SqliteDatabase) -> None:
    store = SqliteTaskStore(database)
    store.close()
    with pytest.raises(Exception, match="closed"):
        store.get("t")

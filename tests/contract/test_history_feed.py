"""The controller's change feed over the task history, on both store families."""

from __future__ import annotations

import pytest

from skalds.model._time import now_ms
from skalds.system_controller.history_feed import HistoryFeed
from skalds.transport.ports import TaskStore
from support.families import Family

pytestmark = pytest.mark.integration


@pytest.fixture
def store(family: Family) -> TaskStore:
    return family.store()


def test_an_entry_stamped_before_ones_already_read_is_still_delivered_once(store: TaskStore) -> None:
    start = now_ms()
    feed = HistoryFeed(store, start - 10_000)
    store.append_history("a", {"type": "status", "status": "Running", "ts": start})
    assert [entry["taskId"] for entry in feed.read()] == ["a"]
    # A node's slow batch insert: stamped 1 s before the entry already read, visible only now.
    store.append_history_many([("late", {"type": "status", "status": "Finished", "ts": start - 1000})])
    store.append_history("b", {"type": "status", "status": "Running", "ts": start + 1})
    assert sorted(entry["taskId"] for entry in feed.read()) == ["b", "late"]
    assert feed.read() == []


def test_entries_from_before_the_reader_started_are_not_news(store: TaskStore) -> None:
    start = now_ms()
    store.append_history("old", {"type": "created", "ts": start - 500})
    feed = HistoryFeed(store, start)
    store.append_history("new", {"type": "created", "ts": start + 5})
    assert [entry["taskId"] for entry in feed.read()] == ["new"]


def test_more_entries_in_one_millisecond_than_a_page_are_all_read(store: TaskStore) -> None:
    start = now_ms()
    feed = HistoryFeed(store, start - 1, page=10)
    store.append_history_many([(f"t{i}", {"type": "status", "status": "Finished", "ts": start}) for i in range(25)])
    store.append_history("after", {"type": "created", "ts": start + 1})
    read = [entry["taskId"] for entry in feed.read()]
    assert sorted(read) == sorted([f"t{i}" for i in range(25)] + ["after"])
    assert feed.read() == []


def test_entries_older_than_the_look_back_window_are_forgotten_and_not_repeated(store: TaskStore) -> None:
    start = now_ms()
    feed = HistoryFeed(store, start - 60_000, lookback_ms=1000)
    store.append_history("first", {"type": "created", "ts": start - 50_000})
    store.append_history("second", {"type": "created", "ts": start})
    assert len(feed.read()) == 2
    assert feed.read() == []
    assert len(feed._seen) == 1  # only what the window can still return is remembered

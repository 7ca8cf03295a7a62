"""Store-agnostic check of the per-task history cap (`TASK_HISTORY_LIMIT`), for both stores."""

from __future__ import annotations

from typing import Any

from skalds.model.task import HistoryType


def fill_and_check(store: Any, limit: int) -> None:
    """Append well past the cap, singly and in batches; the history stays near the cap, starts with one
    marker that counts every dropped entry, keeps the newest entries, and other tasks are untouched."""
    every = store.history_cap.every
    for number in range(3 * limit):
        store.append_history("capped", {"type": HistoryType.STATUS.value, "n": number})
    store.append_history_many([("capped", {"type": HistoryType.STATUS.value, "n": 3 * limit + i}) for i in range(5)])
    for number in range(limit // 2):
        store.append_history("small", {"type": HistoryType.STATUS.value, "n": number})
    written = 3 * limit + 5
    entries = store.history("capped", limit=10 * limit)
    assert limit <= len(entries) <= limit + every + 5
    marker, kept = entries[0], entries[1:]
    assert marker["type"] == HistoryType.HISTORY_TRUNCATED.value
    assert [entry["type"] for entry in kept] == [HistoryType.STATUS.value] * len(kept)
    assert marker["dropped"] + len(kept) == written
    assert [entry["n"] for entry in kept] == list(range(written - len(kept), written))  # the newest, in order
    assert marker["ts"] <= kept[0]["ts"]
    assert len(store.history("small", limit=10 * limit)) == limit // 2


def uncapped(store: Any) -> None:
    for number in range(250):
        store.append_history("free", {"type": HistoryType.STATUS.value, "n": number})
    assert len(store.history("free", limit=1000)) == 250

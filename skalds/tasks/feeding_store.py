"""A task store that also publishes what it stores on the change feed (`change_feed`).

Every transition writes a history entry, so publishing the entries (and deletions) after the store
accepted them tells controllers about every change, whoever made it: the API, the dispatcher, a
node's store writer, edge mode. Controllers follow the feed instead of polling the store.

Publishing never waits and never fails the write: the store holds the truth already. When a message
cannot be queued (the event bus has been away a long time), the writer stamps `skalds:feed-gap` in
the live state, and controllers answer that with one re-read of what is live.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from skalds.model._time import now_ms
from skalds.tasks import change_feed
from skalds.transport.ports import EventPublisher, LiveState, ServiceUnavailableError, TaskStore
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger


class FeedingStore:
    """Wraps a TaskStore; every other method is the wrapped store's own."""

    def __init__(self, store: TaskStore, publisher: EventPublisher, topic: str, writer: str,
                 on_gap: Callable[[], None] | None = None) -> None:
        self.inner = store
        self.publisher = publisher
        self.topic = topic
        self.writer = writer or "skalds"
        self.on_gap = on_gap
        self.unpublished = 0  # messages that could not be queued

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def append_history(self, task_id: str, entry: dict[str, Any]) -> None:
        stamped = {"ts": now_ms(), **entry}  # the same `ts` in the store and on the feed
        self.inner.append_history(task_id, stamped)
        self._publish([{"taskId": task_id, **stamped}])

    def append_history_many(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        stamp = now_ms()
        stamped = [(task_id, {"ts": stamp, **entry}) for task_id, entry in entries]
        self.inner.append_history_many(stamped)
        self._publish([{"taskId": task_id, **entry} for task_id, entry in stamped])

    def delete_where(self, task_ids: Sequence[str], *, expect: dict[str, Any]) -> list[str]:
        """Deletions carry each task's status, class and node, so readers keep their counts without a recount."""
        held = {document["id"]: {name: _text(document.get(name)) for name in change_feed.DELETED_FIELDS}
                for document in self.inner.find({"id": list(task_ids)}, fields=("id", *change_feed.DELETED_FIELDS))
                if isinstance(document.get("id"), str)}
        deleted = self.inner.delete_where(task_ids, expect=expect)
        if deleted:
            self._publish(deleted={task_id: held.get(task_id, {}) for task_id in deleted})
        return deleted

    def _publish(self, entries: Sequence[Mapping[str, Any]] = (),
                 deleted: Mapping[str, Mapping[str, str | None]] | None = None) -> None:
        try:
            for message in change_feed.encode(self.writer, entries, deleted):
                if not self.publisher.offer(self.topic, self.writer, message):
                    raise ServiceUnavailableError("the event client's queue is full")
        except (ServiceUnavailableError, OSError, ValueError) as error:
            self.unpublished += 1
            logger.warning(f"change not published on {self.topic} ({error}); controllers will re-read")
            if self.on_gap is not None:
                self.on_gap()


def _text(value: Any) -> str | None:
    return value[:change_feed.MAX_TEXT] if isinstance(value, str) else None


def gap_marker(live: LiveState | None) -> Callable[[], None]:
    """What a writer does when it could not publish a change: stamp the feed-gap key (best effort)."""
    def mark() -> None:
        if live is None:
            return
        stamp = str(now_ms())
        try:
            live.write(lambda batch: batch.set(RedisKey.FEED_GAP, stamp))
        except Exception as error:  # the live state is away too: controllers re-read when it returns
            logger.warning(f"feed gap not recorded: {type(error).__name__}: {error}")
    return mark

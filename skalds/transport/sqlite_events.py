"""Events port on the embedded SQLite file: an append-only `events` table and committed offsets per group.

Behaves like the Kafka adapter as the runtime sees it:
- a group that never committed starts at the current end, and that position is committed at once,
  so a restart delivers everything published after the group first appeared;
- `poll` hands out events in publish order and moves an in-memory position; only `commit` moves
  the group's stored offset, so an event that was not committed comes again after a restart;
- every group sees every event (one consumer per group: a group is a node id).
New events are found by reading the table from a cursor every `poll_interval` (5 ms by default):
about 20 µs per look (an idle consumer costs ~2% of a core), and an event published by another
process arrives within a few milliseconds.
Events older than `retention` seconds are deleted by publishers (like Kafka's retention).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from skalds.transport import event_headers
from skalds.transport.ports import Event
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.utils.logging import logger

DEFAULT_RETENTION = 7 * 24 * 3600.0
_PURGE_EVERY = 60.0
_BATCH = 200


class SqliteEventPublisher:
    """Appends events; `publish` is durable when it returns (there is nothing to flush)."""

    def __init__(self, database: SqliteDatabase, *, retention: float = DEFAULT_RETENTION) -> None:
        self._db = database
        self._retention = retention
        self._next_purge = 0.0

    def publish(self, topic: str, key: str, value: bytes | str | None,
                headers: Mapping[str, str] | None = None) -> None:
        if not topic:
            raise ValueError("an event needs a topic")
        if key is None or key == "":
            raise ValueError("an event needs a key (the task id)")
        payload = value.encode() if isinstance(value, str) else value
        now, header_text = time.time(), event_headers.to_json(headers)
        self._db.transaction(lambda connection: connection.execute(
            "INSERT INTO events (topic, key, value, ts, headers) VALUES (?, ?, ?, ?, ?)",
            (topic, key, payload, now, header_text)))
        if time.monotonic() >= self._next_purge:
            self._purge(now)

    def offer(self, topic: str, key: str, value: bytes | str, headers: Mapping[str, str] | None = None) -> bool:
        """There is no queue to fill: the same as `publish`."""
        self.publish(topic, key, value, headers)
        return True

    def _purge(self, now: float) -> None:
        self._next_purge = time.monotonic() + _PURGE_EVERY
        deleted = self._db.transaction(lambda connection: connection.execute(
            "DELETE FROM events WHERE ts < ?", (now - self._retention,)).rowcount)
        if deleted:
            logger.debug(f"embedded events: {deleted} event(s) older than the retention deleted")

    def flush(self, timeout: float = 10.0) -> int:
        """Nothing is queued: every `publish` has been committed to the file already."""
        return 0

    def close(self) -> None:
        self._db.close()


class SqliteEventConsumer:
    """One consumer group over several topics; offsets move only by `commit`."""

    def __init__(
        self,
        database: SqliteDatabase,
        group_id: str,
        topics: list[str],
        *,
        on_assigned: Callable[[list[str]], None] | None = None,
        poll_interval: float = 0.005,
    ) -> None:
        if not group_id:
            raise ValueError("a consumer needs a group id")
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        self._db = database
        self._group = group_id
        self._topics = sorted(set(topics))
        self._poll_interval = poll_interval
        self._buffer: deque[Event] = deque()
        self.outages = 0  # the file is always there: an unreadable one raises instead
        self._positions = self._join()
        self._cursor = min(self._positions.values())  # next seq to look at, over all topics
        self._query = (f"SELECT seq, topic, key, value, headers FROM events WHERE seq >= ? AND topic IN "
                       f"({','.join('?' * len(self._topics))}) ORDER BY seq LIMIT {_BATCH}")
        logger.debug("embedded consumer " + group_id + " at " +
                     ", ".join(f"{topic}@{position}" for topic, position in self._positions.items()))
        if on_assigned is not None:
            on_assigned(list(self._topics))

    def _join(self) -> dict[str, int]:
        """Committed positions; a topic this group never committed starts (and is committed) at the end."""
        def join(connection: Any) -> dict[str, int]:
            end = int(connection.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]) + 1
            committed = dict(connection.execute(
                f"SELECT topic, next_seq FROM event_offsets WHERE grp = ? AND topic IN "
                f"({','.join('?' * len(self._topics))})", (self._group, *self._topics)).fetchall())
            for topic in self._topics:
                if topic not in committed:
                    connection.execute("INSERT INTO event_offsets (grp, topic, next_seq) VALUES (?, ?, ?)",
                                       (self._group, topic, end))
                    committed[topic] = end
            return committed

        return self._db.transaction(join)

    def _fetch(self) -> None:
        """One indexed range read from the cursor (about 20 µs when nothing is new)."""
        parameters = [self._cursor, *self._topics]
        rows = self._db.read(lambda connection: connection.execute(self._query, parameters).fetchall())
        for seq, topic, key, value, header_text in rows:
            self._cursor = seq + 1
            if seq < self._positions[topic]:
                continue  # committed before (topics of one group may stand at different positions)
            self._buffer.append(Event(topic=topic, key=key, value=bytes(value) if value is not None else None,
                                      handle=(topic, seq), headers=event_headers.from_json(header_text)))
            self._positions[topic] = seq + 1

    def poll(self, timeout: float) -> Event | None:
        """The next event of the group's topics, or None when none arrives within `timeout` seconds."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if not self._buffer:
                self._fetch()
            if self._buffer:
                return self._buffer.popleft()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(self._poll_interval, remaining))

    def commit(self, event: Event) -> None:
        """Store the position after `event`: a restart continues with the event that follows it."""
        topic, seq = event.handle
        try:
            self._db.transaction(lambda connection: connection.execute(
                "INSERT INTO event_offsets (grp, topic, next_seq) VALUES (?, ?, ?) ON CONFLICT (grp, topic) "
                "DO UPDATE SET next_seq = excluded.next_seq", (self._group, topic, seq + 1)))
        except Exception as error:  # as with Kafka: a failed commit means a repeat, never a crash
            logger.warning(f"embedded commit of {topic} failed (the event may be delivered again): {error}")

    def close(self) -> None:
        self._buffer.clear()
        self._db.close()

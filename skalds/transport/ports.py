"""Port protocols. Adapters: Kafka/MongoDB/Redis (production) and SQLite (embedded, one machine)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from skalds.transport.errors import (  # noqa: F401  (re-exported: the ports' errors)
    ConflictError,
    DuplicateTaskError,
    EventBusUnavailableError,
    LiveStateUnavailableError,
    MisconfiguredError,
    ServiceUnavailableError,
    StoreUnavailableError,
    TransportError,
    UnstorableError,
)


@dataclass(frozen=True)
class Event:
    """One consumed event: `handle` is what the adapter needs to commit it."""

    topic: str
    key: str | None
    value: bytes | None
    handle: Any = None
    headers: Mapping[str, str] | None = None  # trace context (traceparent, tracestate), bounded by the adapter


@dataclass(frozen=True)
class Change:
    """One task's compare-and-set in a batch (`TaskStore.update_each`): `set_fields` and `increment` apply
    only while every `expect` field still holds."""

    task_id: str
    set_fields: dict[str, Any]
    expect: dict[str, Any]
    increment: dict[str, int] | None = None


class EventPublisher(Protocol):
    def publish(self, topic: str, key: str, value: bytes | str, headers: Mapping[str, str] | None = None) -> None: ...
    def offer(self, topic: str, key: str, value: bytes | str, headers: Mapping[str, str] | None = None) -> bool:
        """Queue the event without ever waiting: False when the local queue is full (the bus is away)."""
        ...
    def flush(self, timeout: float = 10.0) -> int: ...
    def close(self) -> None: ...


class EventConsumer(Protocol):
    outages: int  # times the bus was seen unreachable: a reader may have missed events since

    def poll(self, timeout: float) -> Event | None: ...
    def commit(self, event: Event) -> None: ...
    def close(self) -> None: ...


class TaskStore(Protocol):
    """Task documents keyed by `id`, camelCase fields, with compare-and-set updates."""

    def ensure_indexes(self) -> None: ...
    def ping(self) -> None:
        """Raise when the store does not answer."""
        ...
    def insert(self, document: dict[str, Any]) -> None: ...
    def get(self, task_id: str) -> dict[str, Any] | None: ...
    def update(
        self,
        task_id: str,
        set_fields: dict[str, Any] | None = None,
        *,
        expect: dict[str, Any] | None = None,
        increment: dict[str, int] | None = None,
    ) -> dict[str, Any] | None: ...
    def update_where(self, task_ids: Sequence[str], set_fields: dict[str, Any], *, expect: dict[str, Any]) -> int:
        """The same compare-and-set on many tasks in one query; returns how many matched."""
        ...
    def update_each(self, changes: Sequence[Change]) -> list[str]:
        """Each change a compare-and-set of its own task (as `update`, with `updateDateTime`), all in one round
        trip, none depending on another; returns the ids of those applied (a task changed meanwhile no longer
        matches its `expect` and is left as it is). At most one change per task id."""
        ...
    def find(
        self,
        where: dict[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] = (),
        skip: int = 0,
        limit: int = 0,
        fields: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]: ...
    def delete_where(self, task_ids: Sequence[str], *, expect: dict[str, Any]) -> list[str]:
        """Delete those of `task_ids` that match `expect`, with their history; returns the ids deleted."""
        ...
    def count(self, where: dict[str, Any] | None = None) -> int: ...
    def group_count(self, field: str, where: dict[str, Any] | None = None) -> dict[Any, int]: ...
    def group_counts(self, fields: Sequence[str], where: dict[str, Any] | None = None) -> dict[str, dict[Any, int]]:
        """`group_count` of each field, from one pass over the matching tasks (a store that decodes every
        document it groups, as FerretDB does, reads them once instead of once per field)."""
        ...
    def append_history(self, task_id: str, entry: dict[str, Any]) -> None: ...
    def append_history_many(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None: ...
    def history(self, task_id: str, limit: int = 500) -> list[dict[str, Any]]: ...
    def save_checkpoint(self, task_id: str, *, executor: str, attempt: int, state: str, saved_at: int) -> bool:
        """Store the task's checkpoint (`state` JSON text, in `task_checkpoints`, not on the task) while `executor`
        holds `attempt` and no later attempt saved one; False (nothing written) otherwise."""
        ...
    def set_checkpoint_summary(self, task_id: str, *, executor: str, attempt: int, summary: dict[str, int]) -> bool:
        """`checkpoint` on the task document (`checkpoint_docs.summary`) while `executor` holds `attempt`;
        `updateDateTime` stays (a save is not a change of the task's state)."""
        ...
    def get_checkpoint(self, task_id: str) -> dict[str, Any] | None:
        """{attempt, savedAt, sizeBytes, state (a dict)} of the latest saved checkpoint, or None."""
        ...


class LiveBatch(Protocol):
    def set(self, key: str, value: str, ttl: float | None = None) -> None: ...
    def hset(self, key: str, field: str, value: str) -> None: ...
    def hdel(self, key: str, field: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def replace_list(self, key: str, values: Sequence[str], ttl: float | None = None) -> None: ...


class LiveReadBatch(Protocol):
    """Reads queued by `LiveState.read`; each adds one result, in order."""

    def get(self, key: str) -> None: ...
    def hget(self, key: str, field: str) -> None: ...
    def hgetall(self, key: str) -> None: ...
    def lrange(self, key: str) -> None: ...


class LiveState(Protocol):
    """Short-lived shared state: heartbeats, node registry, keys with TTL, a lease."""

    def ping(self) -> bool: ...
    def write(self, fill: Callable[[LiveBatch], None]) -> None: ...
    def read(self, fill: Callable[[LiveReadBatch], None]) -> list[Any]:
        """Run the reads `fill` queues in one round trip; results in queue order (None, {} or [] when missing)."""
        ...
    def get(self, key: str) -> str | None: ...
    def mget(self, keys: Sequence[str]) -> list[str | None]: ...
    def hgetall(self, key: str) -> dict[str, str]: ...
    def lrange(self, key: str) -> list[str]: ...
    def acquire_lease(self, name: str, owner: str, ttl: float) -> bool: ...
    def release_lease(self, name: str, owner: str) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class LogLine:
    """One line of a task's log. `id` is given by the store (ordered, opaque: resume after it)."""

    task_id: str
    attempt: int
    level: str  # TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR, CRITICAL
    ts: int  # ms since the epoch, when the worker wrote it
    text: str
    source: str = "logger"  # "logger", "stdout" (stdout and stderr share one pipe) or "skalds" (node's markers)
    id: str = ""


@dataclass(frozen=True)
class LogQuery:
    """Which lines of one task: all filters optional; `after` an id (resume), `since` ms."""

    attempt: int | None = None
    min_severity: int = 0
    since: int | None = None
    text: str | None = None  # case-insensitive substring
    after: str | None = None
    limit: int = 500


@dataclass(frozen=True)
class LogRead:
    """The lines a read matched, oldest first, and `scanned`: the newest line id it looked at, matched or
    not (None: it looked at none). A follower resumes after `scanned`, so lines a filter left out are not
    read again."""

    lines: list[LogLine]
    scanned: str | None


class TaskLogs(Protocol):
    """Bounded per-task logs: the node appends, the controller reads."""

    def append(self, lines: Sequence[LogLine]) -> None:
        """Store lines of any tasks, trimming each task's log to its caps."""
        ...
    def read(self, task_id: str, query: LogQuery) -> LogRead:
        """Oldest first: with `after`, the first `limit` matches after it; else the last `limit` matches."""
        ...
    def close(self) -> None: ...

"""The task change feed's wire format: what writers publish and what controllers read, side by side.

Every history entry a writer stores (a status, an assignment, a loss, an attachments update...) is also
published on the `skalds.task.changes` topic, and a deletion names the tasks removed. The message is a
wake-up, not the truth: a reader re-reads the named tasks from the store, so a late, repeated or
reordered message can never make its view wrong, only late. That is why a message may be trimmed
(long texts cut, at most `MAX_ENTRIES` entries) without harm.

    {"v": 1, "writer": "<node or controller id>", "entries": [{"taskId": ..., "ts": ..., "type": ...}],
     "deleted": {"<task id>": {"lifecycleStatus": ..., "className": ..., "executor": ...}}}
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

VERSION = 1
MAX_ENTRIES = 200  # per message: a large batch becomes several messages
MAX_DELETED = 1000  # deleted tasks per message
DELETED_FIELDS = ("lifecycleStatus", "className", "executor")  # what a deletion says of each task (for counts)
MAX_TEXT = 2000  # characters kept of a long text (an error's traceback): the store keeps it whole
MAX_MESSAGE_BYTES = 1024 * 1024  # a reader drops anything larger unread
MAX_ID = 512


@dataclass(frozen=True)
class ChangeBatch:
    """One message: history entries (each names its `taskId`) and deleted tasks with what they held last."""

    writer: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    deleted: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def task_ids(self) -> list[str]:
        return list(dict.fromkeys([entry["taskId"] for entry in self.entries] + list(self.deleted)))


def _trimmed(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: (value[:MAX_TEXT] if isinstance(value, str) else value) for key, value in entry.items()
            if key != "_id"}


# --- writer ------------------------------------------------------------------------------------------
def encode(writer: str, entries: Sequence[Mapping[str, Any]] = (),
           deleted: Mapping[str, Mapping[str, str | None]] | None = None) -> Iterator[bytes]:
    """The messages for these entries and deletions, each at most `MAX_ENTRIES` entries and `MAX_DELETED`
    deletions."""
    trimmed = [_trimmed(entry) for entry in entries]
    for start in range(0, len(trimmed), MAX_ENTRIES):
        yield _message({"v": VERSION, "writer": writer, "entries": trimmed[start:start + MAX_ENTRIES]})
    gone = list((deleted or {}).items())
    for start in range(0, len(gone), MAX_DELETED):
        chunk = dict(gone[start:start + MAX_DELETED])
        yield _message({"v": VERSION, "writer": writer, "entries": [], "deleted": chunk})


def _message(body: dict[str, Any]) -> bytes:
    return json.dumps(body, default=str, separators=(",", ":")).encode()


# --- reader ------------------------------------------------------------------------------------------
def decode(value: bytes | str | None) -> ChangeBatch | None:
    """The batch in a message, or None when it is not one (too large, not JSON, wrong shape): a reader
    that cannot trust a message re-reads the store instead of guessing."""
    if value is None or len(value) > MAX_MESSAGE_BYTES:
        return None
    try:
        body = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or body.get("v") != VERSION:
        return None
    entries, deleted = body.get("entries", []), body.get("deleted", {})
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES or not isinstance(deleted, dict) \
            or len(deleted) > MAX_DELETED:
        return None
    if not all(isinstance(entry, dict) and _is_id(entry.get("taskId")) for entry in entries):
        return None
    if not all(_is_id(task_id) and _is_deletion(held) for task_id, held in deleted.items()):
        return None
    writer = body.get("writer")
    return ChangeBatch(writer=writer if isinstance(writer, str) else "", entries=entries, deleted=deleted)


def _is_deletion(held: Any) -> bool:
    return isinstance(held, dict) and set(held) <= set(DELETED_FIELDS) \
        and all(value is None or (isinstance(value, str) and len(value) <= MAX_TEXT) for value in held.values())


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID

"""The plain-data side of MongoDB writes: conditions, id chunks, and the batch compare-and-set of
`MongoTaskStore.update_each` (which changes are alike, the writes that carry them, and how an applied change
is recognised when the server answers only with a count)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import UpdateMany, UpdateOne

from skalds.transport.ports import Change


def condition(value: Any) -> Any:
    """A list means "one of", anything else an equality. None and 0 also match a missing field,
    so counters added after 0.3.8 (attempt, retryCount) compare correctly on its documents."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return {"$in": list(value)}
    if value == 0 and not isinstance(value, bool):
        return {"$in": [0, None]}
    return value


def chunks(ids: list[Any], size: int = 500) -> Iterable[list[Any]]:
    """Id lists short enough for a server to look them up by key (FerretDB pushes `$in` down up to 500)."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def update_of(change: Change, stamp: int) -> dict[str, Any]:
    update: dict[str, Any] = {"$set": {"updateDateTime": stamp, **change.set_fields}}
    if change.increment:
        update["$inc"] = dict(change.increment)
    return update


def alike(changes: Sequence[Change]) -> list[list[Change]]:
    """The changes grouped by what they expect and write (everything but the task), in first-seen order."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        key = json.dumps([change.expect, change.set_fields, change.increment], sort_keys=True, default=repr)
        groups.setdefault(key, []).append(change)
    return list(groups.values())


def writes_of(group: list[Change], stamp: int) -> list[UpdateOne | UpdateMany]:
    """One update of the whole group per id chunk: each task must still match the group's expectation."""
    conditions = {key: condition(value) for key, value in group[0].expect.items()}
    update = update_of(group[0], stamp)
    if len(group) == 1:
        return [UpdateOne({"_id": group[0].task_id, **conditions}, update)]
    return [UpdateMany({"_id": {"$in": chunk}, **conditions}, update)
            for chunk in chunks([change.task_id for change in group])]


def wrote(document: dict[str, Any], change: Change, stamp: int) -> bool:
    """Whether `document` holds what `change` writes: its stamp, the fields it sets and, for each counter it
    both expects and increments, the expected value moved on. Only a second writer writing the same values
    in the same millisecond could look the same (the leader lease leaves one dispatcher)."""
    if document.get("updateDateTime") != stamp:
        return False
    if any(document.get(key) != value for key, value in change.set_fields.items() if "." not in key):
        return False
    return all(int(document.get(key) or 0) == int(change.expect[key] or 0) + step
               for key, step in (change.increment or {}).items() if key in change.expect)

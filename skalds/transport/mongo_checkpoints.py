"""Checkpoints on MongoDB / FerretDB (see `checkpoint_docs`).

There is no transaction on FerretDB, so the order carries the fencing: first the summary on the task
under a compare-and-set on executor and attempt (a stale attempt stops there), then the state, upserted
only over a checkpoint of the same or an earlier attempt (`_id` is the task id, so a later attempt's
checkpoint makes the upsert a duplicate key: refused).
"""

from __future__ import annotations

from typing import Any

import pymongo.errors
from pymongo.collection import Collection
from pymongo.database import Database

from skalds.transport.checkpoint_docs import CHECKPOINTS, SUMMARY_FIELD, record, summary


def _attempt_is(attempt: int) -> Any:
    return {"$in": [0, None]} if attempt == 0 else attempt  # documents of 0.3.8 have no attempt


class MongoCheckpoints:
    """Mixed into `MongoTaskStore` (which owns `db` and `tasks`)."""

    db: Database
    tasks: Collection

    def save_checkpoint(self, task_id: str, *, executor: str, attempt: int, state: str, saved_at: int) -> bool:
        """Store `state` for `attempt` only while `executor` holds that attempt and no later attempt saved."""
        size = len(state.encode("utf-8"))
        fenced = {"executor": executor, "attempt": _attempt_is(attempt)}
        change = {"$set": {SUMMARY_FIELD: summary(attempt, saved_at, size)}}
        tasks = self.tasks
        if not tasks.update_one({"_id": task_id, **fenced}, change).matched_count \
                and not tasks.update_one({"id": task_id, **fenced}, change).matched_count:  # 0.3.8's ObjectId `_id`
            return False
        try:
            self.db[CHECKPOINTS].update_one(
                {"_id": task_id, "attempt": {"$lte": attempt}},
                {"$set": {"attempt": attempt, "savedAt": saved_at, "sizeBytes": size, "state": state}}, upsert=True)
        except pymongo.errors.DuplicateKeyError:
            return False  # a later attempt saved meanwhile
        return True

    def get_checkpoint(self, task_id: str) -> dict[str, Any] | None:
        found = self.db[CHECKPOINTS].find_one({"_id": task_id})
        if found is None:
            return None
        return record(found.get("attempt"), found.get("savedAt"), found.get("sizeBytes"), found.get("state") or "")

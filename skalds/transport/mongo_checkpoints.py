"""Checkpoints on MongoDB / FerretDB (see `checkpoint_docs`).

A save never writes the task document: FerretDB 1.24 applies an update as a read and a write of the whole
document, so two updates of one document at once can lose one (a status, a user's request). The fence of a
save is a read of the task's executor and attempt, then the state is upserted only over a checkpoint of the
same or an earlier attempt (`_id` is the task id, so a later attempt's checkpoint makes the upsert a
duplicate key: refused). The summary on the task is its own compare-and-set, which the node sends through
the one thread that writes its statuses, at a bounded rate.
"""

from __future__ import annotations

from typing import Any

import pymongo.errors
from pymongo.collection import Collection
from pymongo.database import Database

from skalds.transport.checkpoint_docs import CHECKPOINTS, SUMMARY_FIELD, record


def _attempt_is(attempt: int) -> Any:
    return {"$in": [0, None]} if attempt == 0 else attempt  # documents of 0.3.8 have no attempt


class MongoCheckpoints:
    """Mixed into `MongoTaskStore` (which owns `db` and `tasks`)."""

    db: Database
    tasks: Collection

    def save_checkpoint(self, task_id: str, *, executor: str, attempt: int, state: str, saved_at: int) -> bool:
        """Store `state` for `attempt` only while `executor` holds that attempt and no later attempt saved."""
        fenced = {"executor": executor, "attempt": _attempt_is(attempt)}
        if self.tasks.find_one({"_id": task_id, **fenced}, {"_id": 1}) is None \
                and self.tasks.find_one({"id": task_id, **fenced}, {"_id": 1}) is None:  # 0.3.8's ObjectId `_id`
            return False
        try:
            self.db[CHECKPOINTS].update_one(
                {"_id": task_id, "attempt": {"$lte": attempt}},
                {"$set": {"attempt": attempt, "savedAt": saved_at, "sizeBytes": len(state.encode("utf-8")),
                          "state": state}}, upsert=True)
        except pymongo.errors.DuplicateKeyError:
            return False  # a later attempt saved meanwhile
        return True

    def set_checkpoint_summary(self, task_id: str, *, executor: str, attempt: int, summary: dict[str, int]) -> bool:
        fenced = {"executor": executor, "attempt": _attempt_is(attempt)}
        change = {"$set": {SUMMARY_FIELD: summary}}
        return bool(self.tasks.update_one({"_id": task_id, **fenced}, change).matched_count
                    or self.tasks.update_one({"id": task_id, **fenced}, change).matched_count)

    def get_checkpoint(self, task_id: str) -> dict[str, Any] | None:
        found = self.db[CHECKPOINTS].find_one({"_id": task_id})
        if found is None:
            return None
        return record(found.get("attempt"), found.get("savedAt"), found.get("sizeBytes"), found.get("state") or "")

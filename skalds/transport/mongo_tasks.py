"""Task store port on MongoDB (works with FerretDB): `tasks` plus a `task_events` history."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import bson.errors
import pymongo.errors
from pymongo import ASCENDING, MongoClient, ReturnDocument
from pymongo.collection import Collection

from skalds.model._time import now_ms
from skalds.transport.checkpoint_docs import CHECKPOINTS
from skalds.transport.errors import DuplicateTaskError, StoreUnavailableError, UnstorableError
from skalds.transport.history_cap import MARKER, HistoryCap, already_dropped, marker
from skalds.transport.mongo_changes import alike, chunks, condition, writes_of, wrote
from skalds.transport.mongo_checkpoints import MongoCheckpoints
from skalds.transport.ports import Change
from skalds.transport.task_indexes import HISTORY_INDEXES, TASK_INDEXES
from skalds.transport.translate import translating

TASKS = "tasks"
HISTORY = "task_events"
# FerretDB 1.24 keeps one SQLite connection per statement of an update command open until the command ends (its
# pool holds 100): a longer bulk write waits for a connection forever. MongoDB takes a whole batch in one command.
FERRETDB_STATEMENTS = 25


def mongo_client(uri: str, timeout_ms: int = 3000, operation_timeout_ms: int = 10000) -> MongoClient:
    """Fail fast when the server is unreachable (`timeout_ms`); allow slow queries up to `operation_timeout_ms`."""
    return MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                       socketTimeoutMS=max(timeout_ms, operation_timeout_ms), retryWrites=False, appname="skalds")


def _listed_ids(where: dict[str, Any] | None) -> list[str] | None:
    """The task ids a query lists (`{"id": [...]}` or `{"id": "x"}`), if that is how it selects."""
    value = (where or {}).get("id")
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(item, str) for item in value):
        return list(dict.fromkeys(value))
    return None


def _translate(error: Exception) -> Exception | None:
    """pymongo's and bson's exceptions as the task-store port's errors."""
    if isinstance(error, pymongo.errors.DuplicateKeyError):
        return DuplicateTaskError(str(error).split(", full error:")[0])
    if isinstance(error, (pymongo.errors.ConnectionFailure, pymongo.errors.ExecutionTimeout,
                          pymongo.errors.WTimeoutError)):  # ConnectionFailure includes AutoReconnect, timeouts
        return StoreUnavailableError(f"the task store (MongoDB) did not answer in time: {error}")
    if isinstance(error, (pymongo.errors.OperationFailure, bson.errors.BSONError, UnicodeEncodeError,
                          OverflowError)):
        return UnstorableError(str(error).split(", full error:")[0][:300])
    return None


@translating(_translate)
class MongoTaskStore(MongoCheckpoints):
    """Documents as stored by 0.3.8 (`id` unique, camelCase) with compare-and-set updates."""

    def __init__(self, client: MongoClient, db_name: str, history_limit: int = 0) -> None:
        self.client = client
        self.history_cap = HistoryCap(history_limit)
        self.db = client[db_name]
        self.tasks: Collection = self.db[TASKS]
        self.events: Collection = self.db[HISTORY]
        self._per_command: int | None = None  # update statements per command (`update_each`), once known

    def ensure_indexes(self) -> None:
        """`id` unique (named id_1, as 0.3.8) and the table in `task_indexes` (which queries use which)."""
        self.tasks.create_index([("id", ASCENDING)], unique=True)
        for name, keys in TASK_INDEXES.items():
            self.tasks.create_index(list(keys), name=name)
        for name, keys in HISTORY_INDEXES.items():
            self.events.create_index(list(keys), name=name)

    def insert(self, document: dict[str, Any]) -> None:
        """`_id` is the task id: lookups by `_id` are the cheapest query on every MongoDB-wire server
        (FerretDB on SQLite pushes only `{_id: ...}` down to its storage; everything else is a scan)."""
        try:
            self.tasks.insert_one({"_id": document["id"], **document})
        except pymongo.errors.DuplicateKeyError as error:
            raise DuplicateTaskError(f"task {document.get('id')!r} already exists") from error

    def get(self, task_id: str) -> dict[str, Any] | None:
        document = self.tasks.find_one({"_id": task_id}, {"_id": 0})
        if document is None:  # written by 0.3.8 (ObjectId `_id`), or missing
            document = self.tasks.find_one({"id": task_id}, {"_id": 0})
        return document

    def update(
        self,
        task_id: str,
        set_fields: dict[str, Any] | None = None,
        *,
        expect: dict[str, Any] | None = None,
        increment: dict[str, int] | None = None,
    ) -> dict[str, Any] | None:
        """Apply the change only if every `expect` field matches; returns the new document or None."""
        conditions = {key: condition(value) for key, value in (expect or {}).items()}
        change: dict[str, Any] = {"$set": {"updateDateTime": now_ms(), **(set_fields or {})}}
        if increment:
            change["$inc"] = dict(increment)
        # No projection: FerretDB 1.x does not implement findAndModify's `fields`.
        document = self.tasks.find_one_and_update({"_id": task_id, **conditions}, change,
                                                  return_document=ReturnDocument.AFTER)
        if document is None and self.tasks.find_one({"_id": task_id}, {"_id": 1}) is None:
            # written by 0.3.8 (ObjectId `_id`), or missing: the slow path by `id`
            document = self.tasks.find_one_and_update({"id": task_id, **conditions}, change,
                                                      return_document=ReturnDocument.AFTER)
        if document is not None:
            document.pop("_id", None)
        return document

    def update_each(self, changes: Sequence[Change]) -> list[str]:
        """One unordered bulk write of conditional updates (one round trip). Tasks whose change is the same (a
        burst's tasks for one node, all at one attempt) share one `updateMany` by key, which our FerretDB build
        commits in one transaction. The server answers only how many matched, so when fewer than all did, the
        tasks are read back by key and an applied change is recognised by the state it wrote (`mongo_changes`)."""
        if len({change.task_id for change in changes}) < len(changes):
            raise ValueError("update_each takes at most one change per task")
        if not changes:
            return []
        stamp = now_ms()
        operations = [operation for group in alike(changes) for operation in writes_of(group, stamp)]
        size = self._statements_per_command() or len(operations)
        matched = 0
        for start in range(0, len(operations), size):
            try:
                matched += self.tasks.bulk_write(operations[start:start + size], ordered=False).matched_count
            except pymongo.errors.BulkWriteError:  # some were refused: those are not applied, the others are
                matched = -len(operations)
        if matched == len(changes):
            return [change.task_id for change in changes]
        return self._applied(changes, stamp)

    def _statements_per_command(self) -> int:
        """0 (all in one command) on MongoDB; `FERRETDB_STATEMENTS` on FerretDB, asked once."""
        if self._per_command is None:
            info = self.client.admin.command("buildInfo")
            self._per_command = FERRETDB_STATEMENTS if "ferretdbVersion" in info else 0
        return self._per_command

    def _applied(self, changes: Sequence[Change], stamp: int) -> list[str]:
        """Which changes of a bulk write took effect; a task stored by 0.3.8 (ObjectId `_id`) is changed
        now, one by one by `id` (the bulk write looked tasks up by `_id` only)."""
        ids = [change.task_id for change in changes]
        stored = {document["_id"]: document for chunk in chunks(ids)
                  for document in self.tasks.find({"_id": {"$in": chunk}})}
        return [change.task_id for change in changes
                if (wrote(stored[change.task_id], change, stamp) if change.task_id in stored else
                    self.update(change.task_id, change.set_fields, expect=change.expect,
                                increment=change.increment) is not None)]

    def update_where(self, task_ids: Sequence[str], set_fields: dict[str, Any], *, expect: dict[str, Any]) -> int:
        """The same change to every task in `task_ids` that matches `expect`; how many changed."""
        ids = list(dict.fromkeys(task_ids))
        conditions = {key: condition(value) for key, value in expect.items()}
        change = {"$set": {"updateDateTime": now_ms(), **set_fields}}
        matched = 0
        for chunk in chunks(ids):
            matched += self.tasks.update_many({"_id": {"$in": chunk}, **conditions}, change).matched_count
        if matched < len(ids):
            legacy = self._without_id_key(ids)
            if legacy:
                matched += self.tasks.update_many({"id": {"$in": legacy}, **conditions}, change).matched_count
        return matched

    def delete_where(self, task_ids: Sequence[str], *, expect: dict[str, Any]) -> list[str]:
        """Tasks first, each under `expect`; then the history of those that are gone (a task that changed
        meanwhile no longer matches, keeps its document and so keeps its history)."""
        ids = list(dict.fromkeys(task_ids))
        conditions = {key: condition(value) for key, value in expect.items()}
        legacy = self._without_id_key(ids)  # written by 0.3.8 (ObjectId `_id`), or missing
        keyed = [task_id for task_id in ids if task_id not in set(legacy)]
        for chunk in chunks(keyed):
            self.tasks.delete_many({"_id": {"$in": chunk}, **conditions})
        remaining = {document["_id"] for chunk in chunks(keyed) for document in
                     self.tasks.find({"_id": {"$in": chunk}}, {"_id": 1})}  # by key: no scan
        deleted = [task_id for task_id in keyed if task_id not in remaining]
        if legacy:
            present = {document["id"] for document in self.tasks.find({"id": {"$in": legacy}}, {"_id": 0, "id": 1})}
            self.tasks.delete_many({"id": {"$in": legacy}, **conditions})
            remaining = {document["id"] for document in self.tasks.find({"id": {"$in": legacy}}, {"_id": 0, "id": 1})}
            deleted += [task_id for task_id in legacy if task_id in present and task_id not in remaining]
        for chunk in chunks(deleted):
            self.events.delete_many({"taskId": {"$in": chunk}})
            self.db[CHECKPOINTS].delete_many({"_id": {"$in": chunk}})
        return deleted

    def find(
        self,
        where: dict[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] = (),
        skip: int = 0,
        limit: int = 0,
        fields: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        query = {key: condition(value) for key, value in (where or {}).items()}
        projection: dict[str, int] = {"_id": 0}
        if fields is not None:
            projection.update({name: 1 for name in fields})
        ids = _listed_ids(where)
        if ids is not None and not (sort or skip or limit):
            return self._find_by_ids(ids, query, projection)
        cursor = self.tasks.find(query, projection)
        if sort:
            cursor = cursor.sort(list(sort))
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return list(cursor)

    def _find_by_ids(self, ids: list[str], query: dict[str, Any], projection: dict[str, int]) -> list[dict[str, Any]]:
        """Tasks listed by id: looked up by `_id` (an index lookup on every MongoDB-wire server), and only
        the ids not found that way by `id` (documents written by 0.3.8 have an ObjectId `_id`)."""
        rest = {key: value for key, value in query.items() if key != "id"}
        partial = len(projection) > 1  # a projection listing fields: `id` is needed to see what was found
        with_id = {**projection, "id": 1} if partial and "id" not in projection else projection
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids):
            found += self.tasks.find({"_id": {"$in": chunk}, **rest}, with_id)
        seen = {document.get("id") for document in found}
        if len(seen) < len(ids):
            legacy = self._without_id_key([task_id for task_id in ids if task_id not in seen])
            if legacy:
                found += self.tasks.find({"id": {"$in": legacy}, **rest}, with_id)
        if with_id is not projection:
            for document in found:
                document.pop("id", None)
        return found

    def _without_id_key(self, ids: list[str]) -> list[str]:
        """Those of `ids` with no document whose `_id` is the task id."""
        keyed: set[str] = set()
        for chunk in chunks(ids):
            keyed |= {document["_id"] for document in self.tasks.find({"_id": {"$in": chunk}}, {"_id": 1})}
        return [task_id for task_id in ids if task_id not in keyed]

    def explain(self, where: dict[str, Any] | None = None, *, sort: Sequence[tuple[str, int]] = (),
                limit: int = 0, ids_only: bool = False) -> dict[str, Any]:
        """The server's `explain` of the query `find` (or, `ids_only`, a bounded `count`) sends: which index."""
        command: dict[str, Any] = {"find": TASKS, "filter": {key: condition(value) for key, value in
                                                              (where or {}).items()}}
        if sort:
            command["sort"] = dict(sort)
        if limit:
            command["limit"] = limit
        if ids_only:
            command["projection"] = {"_id": 1}
        return self.db.command("explain", command)

    def count(self, where: dict[str, Any] | None = None, *, limit: int = 0) -> int:
        """How many match; with `limit`, at most that many (read as ids by an index: no count of all matches,
        which FerretDB would do by reading every match)."""
        query = {key: condition(value) for key, value in (where or {}).items()}
        if limit:
            return len(list(self.tasks.find(query, {"_id": 1}).limit(limit)))
        return self.tasks.count_documents(query)

    def group_count(self, field: str, where: dict[str, Any] | None = None) -> dict[Any, int]:
        """How many tasks per value of `field` (one aggregation, for loads and summaries)."""
        return self.group_counts([field], where)[field]

    def group_counts(self, fields: Sequence[str], where: dict[str, Any] | None = None) -> dict[str, dict[Any, int]]:
        """One aggregation grouping by every field at once; each field's counts are summed from its groups."""
        pipeline: list[dict[str, Any]] = []
        if where:
            pipeline.append({"$match": {key: condition(value) for key, value in where.items()}})
        keys = {f"f{index}": f"${field}" for index, field in enumerate(fields)}  # no dots in a group key's names
        pipeline.append({"$group": {"_id": keys, "count": {"$sum": 1}}})
        counts: dict[str, dict[Any, int]] = {field: {} for field in fields}
        for row in self.tasks.aggregate(pipeline):
            for index, field in enumerate(fields):
                value = row["_id"].get(f"f{index}")  # a missing field is left out of the group key: None
                key = json.dumps(value, default=str) if isinstance(value, (dict, list)) else value  # as on SQLite
                counts[field][key] = counts[field].get(key, 0) + int(row["count"])
        return counts

    def append_history(self, task_id: str, entry: dict[str, Any]) -> None:
        self.events.insert_one({"taskId": task_id, "ts": now_ms(), **entry})
        for due in self.history_cap.due([task_id]):
            self.trim_history(due)

    def append_history_many(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        if entries:
            stamp = now_ms()
            self.events.insert_many([{"taskId": task_id, "ts": stamp, **entry} for task_id, entry in entries],
                                    ordered=True)
            for due in self.history_cap.due(task_id for task_id, _entry in entries):
                self.trim_history(due)

    def trim_history(self, task_id: str) -> int:
        """Drop the oldest entries beyond the cap, leaving one marker first; how many were dropped now."""
        excess = self.history_cap.excess(self.events.count_documents({"taskId": task_id}))
        if not excess:
            return 0
        oldest = list(self.events.find({"taskId": task_id}, {"_id": 1, "ts": 1, "type": 1, "dropped": 1})
                      .sort([("ts", ASCENDING), ("_id", ASCENDING)]).limit(excess + 1))
        if not oldest:  # another process trimmed it meanwhile
            return 0
        dropped = already_dropped(oldest)
        fresh = sum(1 for entry in oldest if entry.get("type") != MARKER)
        ts = int(oldest[0].get("ts") or 0) - (0 if oldest[0].get("type") == MARKER else 1)  # before those kept
        for chunk in chunks([entry["_id"] for entry in oldest]):
            self.events.delete_many({"_id": {"$in": chunk}})
        self.events.insert_one(marker(task_id, ts, dropped + fresh))
        return fresh

    def history(self, task_id: str, limit: int = 500) -> list[dict[str, Any]]:
        return list(self.events.find({"taskId": task_id}, {"_id": 0}).sort([("ts", ASCENDING)]).limit(limit))

    def ping(self) -> None:
        self.client.admin.command("ping")

"""TaskRepository: all task persistence goes through it.

Ownership rule (design §6): every assignment increments `attempt`; a node writes a task's
status only while `executor` and `attempt` are still the ones it holds (compare-and-set),
so a node that lost a task cannot overwrite the new owner's state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from skalds.model.attachment_registry import validate_attachments
from skalds.model.task import Task, TaskLifecycleStatus, attachments_to_dict
from skalds.transport.ports import ServiceUnavailableError, TaskStore
from skalds.utils.logging import logger


def store_unreachable(error: BaseException) -> bool:
    """The MongoDB driver's errors for a server that does not answer (imported only when one happens:
    worker processes, forked from a process that imports this module, never load the driver)."""
    if not type(error).__module__.startswith("pymongo"):
        return False
    from pymongo.errors import ConnectionFailure, ExecutionTimeout

    return isinstance(error, (ConnectionFailure, ExecutionTimeout))


@dataclass
class StatusChange:
    """One task's status write (several statuses merged into their final fields) and its history entries."""

    task_id: str
    executor: str
    attempt: int
    fields: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, task_id: str, status: TaskLifecycleStatus, *, executor: str, attempt: int,
           error: str | None = None, exit_code: int | None = None) -> StatusChange:
        fields: dict[str, Any] = {"lifecycleStatus": status.value}
        if status == TaskLifecycleStatus.Running:
            fields.update({"error": None, "exitCode": None})
        elif status == TaskLifecycleStatus.Finished:
            # Same fields as a merged Running + Finished, so a batch holding both kinds is one update.
            fields["error"] = None
        if error is not None:
            fields["error"] = error
        if exit_code is not None:
            fields["exitCode"] = exit_code
        entry: dict[str, Any] = {"type": "status", "status": status.value, "executor": executor, "attempt": attempt}
        if error:
            entry["error"] = error
        if exit_code is not None:
            entry["exitCode"] = exit_code
        return cls(task_id, executor, attempt, fields, [entry])

    def merge(self, later: StatusChange) -> None:
        """Fold a later status of the same attempt into this one (e.g. Running then Finished: one write)."""
        self.fields.update(later.fields)
        self.history.extend(later.history)


class TaskRepository:
    """Accepts a `MongoProxy` (0.3.8 API) or any task-store adapter."""

    def __init__(self, mongo_proxy: Any) -> None:
        if mongo_proxy is None:
            raise ValueError("TaskRepository needs a MongoProxy or a task store")
        self.store: TaskStore = getattr(mongo_proxy, "store", mongo_proxy)
        try:
            self.store.ensure_indexes()
        except Exception as error:
            logger.warning(f"could not create task indexes yet: {error}")

    # --- 0.3.8 API -------------------------------------------------------------------------
    def create_task(self, task: Task) -> Task:
        """Insert a new task; raises DuplicateTaskError on a reused id, ServiceUnavailableError if unreachable."""
        try:
            self.store.insert(task.to_document())
        except Exception as error:
            if not store_unreachable(error):
                raise
            raise ServiceUnavailableError(f"task store unreachable while creating task {task.id}: {error}") from error
        self.store.append_history(task.id, {"type": "created", "className": task.class_name,
                                            "source": task.source})
        return task

    def get_task_by_task_id(self, task_id: str, strict_mode: bool = True) -> Task | None:
        """The task, with attachments validated by the registered model (strict) or raw (non-strict).

        Strict mode returns None when the class is not registered here or the attachments
        do not validate; the reason is logged (without the attachments themselves).
        """
        document = self.get_document(task_id)
        if document is None:
            return None
        if not strict_mode:
            return Task.from_document(document)
        try:
            attachments = validate_attachments(document["className"], document.get("attachments"))
        except (LookupError, ValidationError) as error:
            logger.warning(f"task {task_id}: attachments not usable here: {error}")
            return None
        return Task.from_document(document, attachments)

    def update_executor(self, task_id: str, executor: str) -> Task | None:
        """Assign the task to `executor`: a new attempt, status Assigning (design §6)."""
        document = self.store.update(
            task_id,
            {"executor": executor, "lifecycleStatus": TaskLifecycleStatus.Assigning.value},
            increment={"attempt": 1},
        )
        if document is None:
            logger.warning(f"update_executor: task {task_id} not found")
            return None
        self.store.append_history(task_id, {"type": "assigned", "executor": executor,
                                            "attempt": document.get("attempt", 0)})
        return self._task_or_raw(document)

    def update_attachments(self, task_id: str, attachments: BaseModel | dict[str, Any]) -> Task | None:
        """Store new attachments and bump `attachmentsVersion`."""
        document = self.store.update(task_id, {"attachments": attachments_to_dict(attachments)},
                                     increment={"attachmentsVersion": 1})
        if document is None:
            logger.warning(f"update_attachments: task {task_id} not found")
            return None
        self.store.append_history(task_id, {"type": "attachments_updated",
                                            "version": document.get("attachmentsVersion", 0)})
        return self._task_or_raw(document)

    # --- used by nodes and the controller ----------------------------------------------------
    def get_document(self, task_id: str) -> dict[str, Any] | None:
        try:
            return self.store.get(task_id)
        except Exception as error:
            if not store_unreachable(error):
                raise
            raise ServiceUnavailableError(f"task store did not answer for task {task_id}: {error}") from error

    def get_documents(self, task_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Several task documents in one query (assign events arriving together)."""
        if not task_ids:
            return {}
        try:
            return {document["id"]: document for document in self.store.find({"id": task_ids})}
        except Exception as error:
            if not store_unreachable(error):
                raise
            raise ServiceUnavailableError(f"task store did not answer for {len(task_ids)} tasks: {error}") from error

    def record_status(
        self,
        task_id: str,
        status: TaskLifecycleStatus,
        *,
        executor: str,
        attempt: int,
        error: str | None = None,
        exit_code: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        """Write a status for the attempt this executor holds; False when it no longer owns the task."""
        change = StatusChange.of(task_id, status, executor=executor, attempt=attempt, error=error,
                                 exit_code=exit_code)
        change.fields = {**(extra or {}), **change.fields}
        if self.store.update(task_id, change.fields, expect={"executor": executor, "attempt": attempt}) is None:
            logger.warning(f"task {task_id}: not recording {status.value}, attempt {attempt} on {executor} "
                           "is no longer the owner")
            return False
        for entry in change.history:
            self.store.append_history(task_id, entry)
        return True

    def record_statuses(self, changes: list[StatusChange]) -> set[str]:
        """Write many status changes of one executor at once; returns the ids it no longer owns."""
        return {task_id for task_id, _attempt in self.record_statuses_by_attempt(changes)}

    def record_statuses_by_attempt(self, changes: list[StatusChange]) -> set[tuple[str, int]]:
        """Write many status changes of one executor at once; returns the (id, attempt) pairs it no
        longer owns (one batch may hold an old attempt's last status and the next attempt's first).

        Changes with the same attempt and fields go out as one compare-and-set over all their tasks
        (one query instead of one per task), and their history entries in one insert."""
        groups: dict[tuple[int, str], list[StatusChange]] = {}
        for change in changes:
            key = (change.attempt, json.dumps(change.fields, sort_keys=True, default=str))
            groups.setdefault(key, []).append(change)
        lost: set[tuple[str, int]] = set()
        for (attempt, _fields), group in groups.items():
            lost |= {(task_id, attempt) for task_id in self._record_group(group)}
        history = [(change.task_id, entry) for change in changes if (change.task_id, change.attempt) not in lost
                   for entry in change.history]
        self.store.append_history_many(history)
        for task_id, attempt in sorted(lost):
            logger.warning(f"task {task_id}: not recording its status, this node no longer owns attempt {attempt}")
        return lost

    def _record_group(self, group: list[StatusChange]) -> set[str]:
        first = group[0]
        expect = {"executor": first.executor, "attempt": first.attempt}
        ids = [change.task_id for change in group]  # one update even for one task: no document sent back
        if self.store.update_where(ids, first.fields, expect=expect) == len(ids):
            return set()
        # Some were not ours: the ones still matching the executor, attempt and new status were written.
        written = {document["id"] for document in self.store.find({"id": ids}, fields=(
            "id", "executor", "attempt", "lifecycleStatus"))
            if document.get("executor") == first.executor and int(document.get("attempt") or 0) == first.attempt
            and document.get("lifecycleStatus") == first.fields.get("lifecycleStatus")}
        return set(ids) - written

    def release(self, task_id: str, *, executor: str, attempt: int, reason: str) -> bool:
        """Give a task back for reassignment (node shutdown): Created, no executor."""
        document = self.store.update(task_id, {"lifecycleStatus": TaskLifecycleStatus.Created.value,
                                               "executor": None},
                                     expect={"executor": executor, "attempt": attempt})
        if document is not None:
            self.store.append_history(task_id, {"type": "released", "executor": executor, "attempt": attempt,
                                                "reason": reason})
        return document is not None

    def claim(self, task_id: str, *, executor: str, attempt: int) -> dict[str, Any] | None:
        """Start a new attempt on the same executor (a node recovering its own task after a crash)."""
        document = self.store.update(task_id, {"lifecycleStatus": TaskLifecycleStatus.Assigning.value},
                                     expect={"executor": executor, "attempt": attempt},
                                     increment={"attempt": 1})
        if document is not None:
            self.store.append_history(task_id, {"type": "assigned", "executor": executor,
                                                "attempt": document.get("attempt", 0), "reason": "recovered"})
        return document

    def record_update_result(self, task_id: str, version: int, accepted: bool, error: str | None = None) -> None:
        entry: dict[str, Any] = {"type": "attachments_applied" if accepted else "attachments_rejected",
                                 "version": version}
        if error:
            entry["error"] = error
        self.store.append_history(task_id, entry)
        self.store.update(task_id, {"appliedAttachmentsVersion" if accepted else "rejectedAttachmentsVersion":
                                    version})

    def owned_attempts(self, executor: str, task_ids: list[str]) -> dict[str, int]:
        """Which of `task_ids` this executor still owns, with their attempts (one query)."""
        if not task_ids:
            return {}
        documents = self.store.find({"id": task_ids, "executor": executor}, fields=("id", "attempt"))
        return {document["id"]: int(document.get("attempt", 0)) for document in documents}

    def history(self, task_id: str) -> list[dict[str, Any]]:
        return self.store.history(task_id)

    def _task_or_raw(self, document: dict[str, Any]) -> Task:
        try:
            return Task.from_document(document, validate_attachments(document["className"],
                                                                     document.get("attachments")))
        except (LookupError, ValidationError):
            return Task.from_document(document)


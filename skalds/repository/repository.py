"""TaskRepository: 0.3.8's public task persistence API, over the task lifecycle.

Every change goes through `skalds.tasks.lifecycle` (one compare-and-set per transition); this class
keeps 0.3.8's names and return values (a `Task`, or None) for scripts and the seed examples.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from skalds.config._base import ServiceConfig
from skalds.model.attachment_registry import validate_attachments
from skalds.model.ids import shown
from skalds.model.task import Task, TaskLifecycleStatus, attachments_to_dict
from skalds.tasks import lifecycle, queries
from skalds.tasks.status_change import StatusChange
from skalds.transport import factory
from skalds.transport.duplicate_key import DuplicateTaskKeyError
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger


class TaskRepository:
    """Accepts a `MongoProxy` (0.3.8 API) or any task-store adapter; without one, the task store the
    environment names (MONGO_HOST ..., else the embedded file), as every other process chooses it."""

    def __init__(self, mongo_proxy: Any = None) -> None:
        if mongo_proxy is None:
            mongo_proxy = factory.build_store(ServiceConfig())
        self.store: TaskStore = getattr(mongo_proxy, "store", mongo_proxy)
        try:
            self.store.ensure_indexes()
        except Exception as error:
            logger.warning(f"could not create task indexes yet: {error}")

    # --- 0.3.8 API -------------------------------------------------------------------------
    def create_task(self, task: Task) -> Task:
        """Insert a new task. A reused id raises DuplicateTaskKeyError, which is also pymongo's
        DuplicateKeyError (what 0.3.8 raised); an unreachable store, ServiceUnavailableError."""
        transition = lifecycle.create(self.store, task.to_document())
        if not transition.applied:
            raise DuplicateTaskKeyError(transition.reason)
        return task

    def get_task_by_task_id(self, id: str, strict_mode: bool = True) -> Task | None:  # `id`: 0.3.8's keyword
        """The task (None if there is none), attachments validated by the registered model (strict) or raw.

        In strict mode, attachments that no model registered here validates (an unknown class, or
        content its model refuses) come back as None, with the task, as in 0.3.8; the reason is logged
        (without the attachments themselves).
        """
        document = self.get_document(id)
        if document is None:
            return None
        if not strict_mode:
            return Task.from_document(document)
        try:
            attachments = validate_attachments(document["className"], document.get("attachments"))
        except (LookupError, ValidationError) as error:
            logger.warning(f"task {shown(id)}: attachments not usable here: {shown(str(error), 200)}")
            attachments = None
        return Task.from_document({**document, "attachments": None}, attachments)  # never the raw dict

    def update_executor(self, id: str, executor: str) -> Task | None:  # `id`: 0.3.8's keyword
        """Assign the task to `executor`: a new attempt, status Assigning (design §6)."""
        transition = lifecycle.assign_to(self.store, id, executor)
        if transition.document is None:
            logger.warning(f"update_executor: task {shown(id)} not found")
            return None
        return self._task_or_raw(transition.document)

    def update_attachments(self, id: str, attachments: BaseModel | dict[str, Any]) -> Task | None:
        """Store new attachments and bump `attachmentsVersion` (`id` is 0.3.8's keyword)."""
        transition = lifecycle.update_attachments(self.store, id, attachments_to_dict(attachments))
        if transition.document is None:
            logger.warning(f"update_attachments: task {shown(id)} not found")
            return None
        return self._task_or_raw(transition.document)

    # --- used by scripts, tests and benchmarks -----------------------------------------------
    def get_document(self, task_id: str) -> dict[str, Any] | None:
        return self.store.get(task_id)

    def get_documents(self, task_ids: list[str]) -> dict[str, dict[str, Any]]:
        return queries.documents_by_id(self.store, task_ids)

    def record_status(self, task_id: str, status: TaskLifecycleStatus, *, executor: str, attempt: int,
                      error: str | None = None, exit_code: int | None = None) -> bool:
        """Write a status for the attempt this executor holds; False when it no longer owns the task."""
        change = StatusChange.of(task_id, status, executor=executor, attempt=attempt, error=error,
                                 exit_code=exit_code)
        transition = lifecycle.record_status(self.store, change)
        if not transition.applied:
            logger.warning(f"not recording {status.value}: {transition.reason}")
        return transition.applied

    def record_statuses(self, changes: list[StatusChange]) -> set[str]:
        """Write many status changes of one executor at once; returns the ids it no longer owns."""
        return {task_id for task_id, _attempt in lifecycle.record_statuses(self.store, changes)}

    def release(self, task_id: str, *, executor: str, attempt: int, reason: str) -> bool:
        """Give a task back for reassignment (node shutdown): Created, no executor."""
        return lifecycle.release(self.store, task_id, executor=executor, attempt=attempt, reason=reason).applied

    def history(self, task_id: str) -> list[dict[str, Any]]:
        return self.store.history(task_id)

    def _task_or_raw(self, document: dict[str, Any]) -> Task:
        try:
            return Task.from_document(document, validate_attachments(document["className"],
                                                                     document.get("attachments")))
        except (LookupError, ValidationError):
            return Task.from_document(document)


__all__ = ["StatusChange", "TaskRepository"]

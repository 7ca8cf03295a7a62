"""Edge mode: start the YAML file's tasks at boot and record them as Active tasks.

When a task is already in MongoDB its stored attachments win (live updates survive a
restart) unless the file's attachments changed since the last boot, in which case the
user's edit wins. A class mismatch with MongoDB is reported for that task only.
"""

from __future__ import annotations

from pydantic import ValidationError

from skalds.model.task import ModeEnum, Task, TaskLifecycleStatus, attachments_to_dict
from skalds.node.resume import last_checkpoint
from skalds.node.supervisor import Supervisor
from skalds.node.yaml_tasks import YamlTask, YamlTaskError, read_yaml_tasks
from skalds.tasks import lifecycle
from skalds.tasks.attachments_view import start_attachments
from skalds.transport.ports import TaskStore
from skalds.utils.logging import logger


def start_yaml_tasks(path: str, supervisor: Supervisor, store: TaskStore | None, skald_id: str) -> int:
    try:
        entries = read_yaml_tasks(path)
    except YamlTaskError as error:
        logger.error(str(error))
        return 0
    started = 0
    for entry in entries:
        try:
            started += _start_one(entry, supervisor, store, skald_id)
        except Exception as error:
            logger.exception(f"edge task {entry.task_id} could not start: {error}")
    logger.info(f"edge: started {started} of {len(entries)} YAML task(s) from {path}")
    return started


def _start_one(entry: YamlTask, supervisor: Supervisor, store: TaskStore | None, skald_id: str) -> bool:
    model = supervisor.registry.model_for(entry.class_name)
    if model is None:
        logger.error(f"edge task {entry.task_id}: class {entry.class_name!r} is not registered; skipped")
        return False
    raw = entry.attachments
    attempt, checkpoint = 0, None
    if store is not None:
        document = store.get(entry.task_id)
        digest = entry.attachments_digest()
        if document is not None:
            if document.get("className") != entry.class_name:
                logger.error(f"edge task {entry.task_id}: YAML class {entry.class_name} differs from MongoDB's "
                             f"{document.get('className')}; skipped")
                return False
            if document.get("yamlDigest") == digest and document.get("attachments") is not None:
                raw = start_attachments(document)[0]  # never a version its worker rejected
                logger.info(f"edge task {entry.task_id}: using attachments stored in MongoDB "
                            f"(v{document.get('attachmentsVersion', 0)})")
        try:
            attachments = model.model_validate(raw)
        except ValidationError as error:
            logger.error(f"edge task {entry.task_id}: attachments invalid for {entry.class_name}: {error}; skipped")
            return False
        if document is None:
            task = _edge_task(entry, skald_id, attachments)
            lifecycle.create(store, task.to_document())  # refused if another boot created it meanwhile
        if document is None or document.get("yamlDigest") != digest:
            lifecycle.update_attachments(store, entry.task_id, attachments_to_dict(attachments))
            lifecycle.record_yaml_digest(store, entry.task_id, digest)
        assigned = lifecycle.assign_to(store, entry.task_id, skald_id).document
        attempt = int(assigned.get("attempt") or 0) if assigned is not None else 0
        checkpoint = last_checkpoint(store, assigned) if assigned is not None else None  # a restart goes on
    else:
        try:
            attachments = model.model_validate(raw)
        except ValidationError as error:
            logger.error(f"edge task {entry.task_id}: attachments invalid for {entry.class_name}: {error}; skipped")
            return False
    task = _edge_task(entry, skald_id, attachments)
    return supervisor.start_task(task, attempt, attachments.model_dump(mode="json", by_alias=True), checkpoint)


def _edge_task(entry: YamlTask, skald_id: str, attachments: object) -> Task:
    return Task(id=entry.task_id, class_name=entry.class_name, source="YAML", name=entry.task_id,
                mode=ModeEnum.Active, executor=skald_id, is_persistent=False, deadline_date_time=0,
                lifecycle_status=TaskLifecycleStatus.Created, attachments=attachments,
                description=f"Active TaskWorker from YAML. ClassName: {entry.class_name}")

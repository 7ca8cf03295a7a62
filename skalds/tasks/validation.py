"""Is a stored task document usable? Checked where documents enter, field by field.

Only the fields a read returned are checked (projections return a few), and only against what the
code that reads them relies on: an `attempt` that is not a number or an `executor` that is a list
would otherwise fail a whole cycle of the monitor or the dispatcher. Plain checks, not a model:
the monitor validates every active task each second.
"""

from __future__ import annotations

from typing import Any

from skalds.model import disconnect
from skalds.model.ids import is_valid_id
from skalds.model.task import DesiredStatus, ModeEnum, TaskLifecycleStatus

STATUSES = frozenset(TaskLifecycleStatus.list())
MODES = frozenset(ModeEnum.list())
DESIRED = frozenset(DesiredStatus.list())
NUMBERS = ("attempt", "attachmentsVersion", "retryCount", "maxRetries", "priority", "createDateTime",
           "updateDateTime", "deadlineDateTime", "assignedDateTime", "exitCode", "appliedAttachmentsVersion",
           "rejectedAttachmentsVersion", "memoryLimitMb")
TEXTS = ("className", "executor", "source", "name", "description", "error")


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def document_id(document: Any) -> str | None:
    """The document's task id, when it has a usable one."""
    task_id = document.get("id") if isinstance(document, dict) else None
    return task_id if is_valid_id(task_id) else None


def problem_of(document: Any) -> str | None:
    """Why the document cannot be used, or None when it can."""
    if not isinstance(document, dict):
        return f"not a document but {type(document).__name__}"
    if document_id(document) is None:
        return "no usable id (a printable string of 1 to 1000 characters)"
    for field in NUMBERS:
        if field in document and not _is_number(document[field]):
            return f"{field} is {_shown(document[field])}, not a number"
    for field in TEXTS:
        if field in document and document[field] is not None and not isinstance(document[field], str):
            return f"{field} is {_shown(document[field])}, not text"
    if "lifecycleStatus" in document and document["lifecycleStatus"] not in STATUSES:
        return f"lifecycleStatus is {_shown(document['lifecycleStatus'])}, not one of {sorted(STATUSES)}"
    if document.get("desiredStatus") is not None and document["desiredStatus"] not in DESIRED:
        return f"desiredStatus is {_shown(document['desiredStatus'])}, not one of {sorted(DESIRED)}"
    if "mode" in document and document["mode"] not in MODES:
        return f"mode is {_shown(document['mode'])}, not one of {sorted(MODES)}"
    if document.get("attachments") is not None and not isinstance(document["attachments"], dict):
        return f"attachments are {type(document['attachments']).__name__}, not an object"
    if document.get("appliedAttachments") is not None and not isinstance(document["appliedAttachments"], dict):
        return f"appliedAttachments are {type(document['appliedAttachments']).__name__}, not an object"
    return disconnect.problem(document.get("disconnect"))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

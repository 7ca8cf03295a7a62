"""Reading the edge / single_process YAML file (0.3.8 format). The file is never written.

    TaskWorkers:
      <taskId>:
        className: <registered class name>
        attachments: {...}
        isPersistent: true
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


class YamlTaskError(ValueError):
    """The YAML file is missing, unreadable or not in the TaskWorkers format."""


@dataclass(frozen=True)
class YamlTask:
    task_id: str
    class_name: str
    attachments: dict[str, Any]
    is_persistent: bool

    def attachments_digest(self) -> str:
        """Identifies the file's attachments, to tell a user edit from a stale file on restart."""
        return hashlib.sha256(json.dumps(self.attachments, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_yaml_tasks(path: str | Path) -> list[YamlTask]:
    file = Path(path)
    if not file.is_file():
        raise YamlTaskError(f"YAML file {file} does not exist")
    try:
        data = YAML(typ="safe").load(file.read_text(encoding="utf-8"))
    except YAMLError as error:
        raise YamlTaskError(f"YAML file {file} is not valid YAML: {_one_line(error)}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise YamlTaskError(f"YAML file {file} cannot be read: {error}") from error
    entries = (data or {}).get("TaskWorkers") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise YamlTaskError(f"YAML file {file} has no 'TaskWorkers' mapping of tasks")
    tasks: list[YamlTask] = []
    for task_id, entry in entries.items():
        if not isinstance(entry, dict) or not entry.get("className"):
            raise YamlTaskError(f"YAML task {task_id!r} in {file} needs a className")
        attachments = entry.get("attachments") or {}
        if not isinstance(attachments, dict):
            raise YamlTaskError(f"YAML task {task_id!r} in {file}: attachments must be a mapping")
        tasks.append(YamlTask(task_id=str(task_id), class_name=str(entry["className"]), attachments=attachments,
                              is_persistent=bool(entry.get("isPersistent", True))))
    return tasks


def _one_line(error: YAMLError) -> str:
    """ruamel's message spans several lines with a snippet of the file: the problem and where, on one line."""
    problem, mark = getattr(error, "problem", None), getattr(error, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(error).split())[:300]

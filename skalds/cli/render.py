"""Rich tables for tasks (shared by `list`, `show` and the live `watch`)."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.table import Table
from rich.text import Text

from skalds.model.task import TERMINAL_STATUSES

STATUS_STYLES = {"Created": "white", "Assigning": "yellow", "Running": "bold green", "Paused": "cyan",
                 "Finished": "green", "Failed": "bold red", "Cancelled": "magenta"}
TERMINAL = TERMINAL_STATUSES


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def age(ms: int | None) -> str:
    """`12s ago` from a millisecond timestamp (the API's format)."""
    if not ms:
        return "-"
    seconds = max(0.0, time.time() - ms / 1000)
    if seconds < 60:
        return f"{seconds:.0f}s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 86400:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def _version(task: dict[str, Any]) -> str:
    version, applied = task.get("attachmentsVersion") or 0, task.get("appliedAttachmentsVersion")
    return f"{version}" if applied in (None, version) else f"{version} (applied {applied})"


def tasks_table(tasks: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("ID", overflow="fold", min_width=8)
    for column in ("Class", "Status", "Node"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=24)
    for column in ("Att.", "Beat", "Ver.", "Updated"):
        table.add_column(column, no_wrap=True)
    table.add_column("Error", overflow="fold")
    for task in tasks:
        error = task.get("error") or ""
        table.add_row(task["id"], task.get("className", ""), status_text(task.get("lifecycleStatus", "?")),
                      task.get("executor") or "-", str(task.get("attempt", 0)), str(task.get("heartbeat", 0)),
                      _version(task), age(task.get("updateDateTime")),
                      Text(error.splitlines()[0][:60] if error else "", style="red"))
    return table


def task_detail(task: dict[str, Any], history: list[dict[str, Any]] | None = None) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key in ("id", "className", "lifecycleStatus", "executor", "attempt", "heartbeat", "priority", "name",
                "description", "mode", "source", "attachmentsVersion", "appliedAttachmentsVersion", "exitCode",
                "maxRetries", "retryCount", "error", "exception"):
        value = task.get(key)
        if value in (None, "") and key not in ("executor",):
            continue
        rendered: Any = status_text(value) if key == "lifecycleStatus" else str(value if value is not None else "-")
        table.add_row(key, rendered)
    table.add_row("attachments", json.dumps(task.get("attachments"), ensure_ascii=False))
    table.add_row("created", age(task.get("createDateTime")))
    table.add_row("updated", age(task.get("updateDateTime")))
    for entry in history or []:
        details = {k: v for k, v in entry.items() if k not in ("taskId", "ts", "type")}
        table.add_row("history", f"{age(entry.get('ts'))}: {entry.get('type', '?')} "
                                 f"{json.dumps(details, ensure_ascii=False, default=str)}")
    return table

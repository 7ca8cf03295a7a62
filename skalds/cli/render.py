"""Rich tables for tasks (shared by `list`, `show` and the live `watch`)."""

from __future__ import annotations

import json
import time
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from skalds.cli import render_resources
from skalds.model.task import TERMINAL_STATUSES

STATUS_STYLES = {"Created": "white", "Assigning": "yellow", "Running": "bold green", "Paused": "cyan",
                 "Finished": "green", "Failed": "bold red", "Cancelled": "magenta", "Cancelling": "yellow",
                 "Pausing": "yellow", "Retrying": "yellow"}
TERMINAL = TERMINAL_STATUSES


def state_of(task: dict[str, Any]) -> str:
    """What the controller shows (`state`: Cancelling, Pausing, Retrying while under way); an older controller
    sends only `lifecycleStatus`."""
    return str(task.get("state") or task.get("lifecycleStatus") or "?")


def shown_status(task: dict[str, Any]) -> str:
    """`Cancelling`, or `Retrying 2/3 in 4s` (the retry that comes next, of the budget) for a task waiting to retry."""
    state = state_of(task)
    if state != "Retrying":
        return state
    count = f"{int(task.get('retryCount') or 0) + 1}/{int(task.get('maxRetries') or 0)}"
    due = task.get("nextAttemptAt")
    wait = f" in {max(0.0, due / 1000 - time.time()):.0f}s" if isinstance(due, int) else ""
    return f"Retrying {count}{wait}"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status.split(" ", 1)[0], ""))


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


def error_line(error: str | None) -> str:
    """The line that names the exception: in a traceback the one after the last frame (not "Traceback (most
    recent call last):"), otherwise the first line (e.g. "invalid attachments: 1 validation error ...")."""
    lines = [line.rstrip() for line in (error or "").strip().splitlines() if line.strip()]
    frames = [index for index, line in enumerate(lines) if line.startswith("  File ")]
    if not lines or not frames:
        return lines[0].strip() if lines else ""
    after = lines[frames[-1] + 1:]
    return next((line.strip() for line in after if not line.startswith(" ")), lines[-1].strip())


WIDE = 120  # from this terminal width on, the list also shows attempt, heartbeat and attachments version
GAP = 3  # between two columns: padding, the (blank) divider, padding


def _fit(natural: dict[str, int], fixed: list[str], width: int) -> dict[str, int]:
    """Column widths for `width` characters: the fixed columns as they are; the id whole up to 24 (36 when
    wide; longer ones fold); the class and the node up to 14 (24); the error (which wraps) the rest, 16 if
    the class and the node can give it that (down to 8 each), never less than 8."""
    wide = width >= WIDE
    most = 24 if wide else 14
    widths = {name: natural[name] for name in fixed}
    widths.update({"ID": min(natural["ID"], 36 if wide else 24), "Class": min(natural["Class"], most),
                   "Node": min(natural["Node"], most)})
    free = width - GAP * (len(natural) - 1) - sum(widths.values())
    want = min(natural["Error"], 16)
    for name in ("Class", "Node"):
        give = max(0, min(want - free, widths[name] - 8))
        widths[name] -= give
        free += give
    widths["Error"] = max(min(want, 8), free)
    return widths


def _task_row(task: dict[str, Any], wide: bool) -> dict[str, str]:
    row = {"ID": task["id"], "Class": task.get("className", ""), "Status": shown_status(task),
           "Node": task.get("executor") or "-"}
    if wide:
        row.update({"Try": str(task.get("attempt", 0)), "Beat": str(task.get("heartbeat", 0)), "Ver.": _version(task)})
    return {**row, "Updated": age(task.get("updateDateTime")), "Error": error_line(task.get("error"))[:200]}


def tasks_table(tasks: list[dict[str, Any]], title: str | None = None, width: int = WIDE) -> Table:
    """One line per task, laid out for `width` (the terminal's): at 80 columns the id stays whole, the
    class and node shorten with an ellipsis, the error shows the exception's last line."""
    wide = width >= WIDE
    rows = [_task_row(task, wide) for task in tasks]
    names = ["ID", "Class", "Status", "Node", *(("Try", "Beat", "Ver.") if wide else ()), "Updated", "Error"]
    natural = {name: max([len(name), *(len(row[name]) for row in rows)]) for name in names}
    widths = _fit(natural, [name for name in names if name not in ("ID", "Class", "Node", "Error")], width)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in names:
        folds = name in ("ID", "Error")  # never cut: the id must stay copyable, the error readable
        table.add_column(name, width=widths[name], no_wrap=not folds, overflow="fold" if folds else "ellipsis")
    for row in rows:
        cells: list[Any] = [row[name] for name in names]
        cells[2] = status_text(row["Status"])
        error = row["Error"]  # two lines at most: the whole text is in `skalds task show`
        cells[-1] = Text(error if len(error) <= 2 * widths["Error"] else error[:2 * widths["Error"] - 1] + "…",
                         style="red")
        table.add_row(*cells)
    return table


def task_detail(task: dict[str, Any], history: list[dict[str, Any]] | None = None) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("state", status_text(shown_status(task)))
    for key in ("id", "className", "lifecycleStatus", "executor", "attempt", "heartbeat", "priority", "name",
                "description", "mode", "source", "attachmentsVersion", "appliedAttachmentsVersion", "exitCode",
                "maxRetries", "retryCount", "memoryLimitMb", "error", "exception"):
        value = task.get(key)
        if value in (None, "") and key not in ("executor",):
            continue
        rendered: Any = status_text(value) if key == "lifecycleStatus" else str(value if value is not None else "-")
        table.add_row(key, rendered)
    if task.get("resources"):
        table.add_row("resources", render_resources.usage(task.get("resources")))
    if isinstance(task.get("progress"), (int, float)):  # its worker's report_progress (a Text: no markup)
        table.add_row("progress", Text(f"{task['progress'] * 100:.1f}% {task.get('progressMessage') or ''}".strip()))
    checkpoint = task.get("checkpoint")
    if isinstance(checkpoint, dict):  # the state itself: GET /api/tasks/{id}/checkpoint
        table.add_row("checkpoint", f"saved {age(checkpoint.get('savedAt'))} by attempt {checkpoint.get('attempt')} "
                                    f"({checkpoint.get('sizeBytes')} bytes)")
    table.add_row("attachments", json.dumps(task.get("attachments"), ensure_ascii=False))
    table.add_row("created", age(task.get("createDateTime")))
    table.add_row("updated", age(task.get("updateDateTime")))
    for entry in history or []:
        details = {k: v for k, v in entry.items() if k not in ("taskId", "ts", "type")}
        table.add_row("history", f"{age(entry.get('ts'))}: {entry.get('type', '?')} "
                                 f"{json.dumps(details, ensure_ascii=False, default=str)}")
    return table

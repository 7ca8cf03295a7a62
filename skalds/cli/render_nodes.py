"""Rich tables for nodes (`skalds nodes` and `skalds nodes show`)."""

from __future__ import annotations

import time
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from skalds.cli import render_resources
from skalds.cli.render import WIDE, age

NODE_STYLES = {"online": "bold green", "offline": "red"}


def last_beat_ms(node: dict[str, Any]) -> int | None:
    """When the node last beat, in ms: the controller's own age of it (no clock skew between the two
    machines) if it sent one, else the timestamp (0.3.8 sends `lastHeartbeat` as a string)."""
    if isinstance(node.get("heartbeatAgeMs"), int):
        return int(time.time() * 1000) - node["heartbeatAgeMs"]
    try:
        return int(node.get("lastHeartbeat")) or None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _status(node: dict[str, Any]) -> Text:
    """online or offline, and its drain state (cordoned, draining, drained) when it takes no new task."""
    status = str(node.get("status", "?"))
    text = Text(status, style=NODE_STYLES.get(status, ""))
    if node.get("drainState"):
        text.append(f", {node['drainState']}", style="yellow")
    return text


def _tasks(node: dict[str, Any]) -> str:
    running = list(node.get("currentTasks") or [])
    capacity = node.get("capacity") or 0
    count = f"{len(running)}/{capacity}" if capacity else str(len(running))
    return count + (": " + ", ".join(running) if running else "")


def nodes_table(nodes: list[dict[str, Any]], title: str | None = None, width: int = WIDE) -> Table:
    """One node a row; the id never wraps, the class and task lists fold to the width left. From `WIDE`
    columns on, the node's CPU and RSS (with its workers) too; `skalds nodes show` always has them."""
    wide = width >= WIDE
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    longest = max((len(str(node.get("id", ""))) for node in nodes), default=2)
    table.add_column("ID", no_wrap=True, min_width=min(longest, 30), overflow="fold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Last beat", no_wrap=True)
    table.add_column("Classes", overflow="fold", ratio=1)
    table.add_column("Running tasks", overflow="fold", ratio=1)
    if wide:
        table.add_column("Resources", overflow="fold")
    for node in nodes:
        cells = [str(node.get("id", "?")), str(node.get("type", "?")), _status(node), age(last_beat_ms(node)),
                 ", ".join(node.get("supportedTasks") or []) or "-", _tasks(node)]
        table.add_row(*cells, *([render_resources.usage(node.get("resources"))] if wide else []))
    return table


def node_detail(node: dict[str, Any], tasks: list[dict[str, Any]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    beat = last_beat_ms(node)
    table.add_row("id", str(node.get("id", "?")))
    table.add_row("type", str(node.get("type", "?")))
    table.add_row("status", _status(node))
    table.add_row("last heartbeat", f"{age(beat)} (heartbeat {node.get('heartbeat', '?')})")
    table.add_row("capacity", str(node.get("capacity") or "no limit"))
    table.add_row("classes", ", ".join(node.get("supportedTasks") or []) or "-")
    table.add_row("resources", render_resources.usage(node.get("resources")) + " (node and workers)")
    table.add_row("memory", render_resources.machine(node.get("resources")))
    table.add_row("running tasks", str(len(tasks)) if tasks else "none")
    for task in tasks:
        table.add_row("", f"{task.get('id', '?')} ({task.get('className', '?')})")
    return table

"""What an SSE connection is told first: the state 0.3.8's first poll reported.

0.3.8 compared every poll with the connection's previous one, starting from nothing, so each new
connection received, per Skald, `skald_status` {status, taskCount} and `skald_heartbeat`
{heartbeat, status, tasks}; and per monitored task `task_heartbeat` {heartbeat, lifecycleStatus},
plus `task_error` / `task_exception` when that text was set. A client that counts on this snapshot
(0.3.8's dashboard fills its tables from it) gets the same from the monitor's current view.
"""

from __future__ import annotations

from typing import Any

from skalds.system_controller.api.context import ApiContext
from skalds.transport.ports import LiveReadBatch
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger

Message = tuple[str, str, dict[str, Any]]  # (type, skald or task id, data)
SNAPSHOT_TASKS = 1000  # per connection: a snapshot costs one live-state read and a few messages per task


def skald_messages(context: ApiContext, skald_id: str | None) -> list[Message]:
    """Per known node: its status, then its heartbeat and tasks."""
    messages: list[Message] = []
    for node_id, node in sorted(context.node_records().items()):
        if skald_id is not None and node_id != skald_id:
            continue
        status = "online" if node.online else "offline"
        tasks = [task["id"] for task in node.current_tasks]
        messages.append(("skald_status", node_id, {"status": status, "taskCount": len(tasks)}))
        messages.append(("skald_heartbeat", node_id, {"heartbeat": node.heartbeat, "status": status, "tasks": tasks}))
    return messages


def task_messages(context: ApiContext, task_id: str | None) -> list[Message]:
    """Per task the monitor watches (it holds a node): its heartbeat, and its error or exception text if set."""
    monitor = context.monitor
    if monitor is None:
        return []
    documents = monitor.active_tasks()
    ids = sorted(task for task in documents if task_id is None or task == task_id)
    if len(ids) > SNAPSHOT_TASKS:  # bounded per connection; later changes still arrive as they happen
        logger.debug(f"SSE snapshot holds {SNAPSHOT_TASKS} of {len(ids)} watched tasks")
        ids = ids[:SNAPSHOT_TASKS]
    texts = _error_texts(context, ids)
    messages: list[Message] = []
    for task in ids:
        status = documents[task].get("lifecycleStatus")
        beat = monitor.beats.get(task)
        heartbeat = beat.heartbeat if beat is not None and beat.heartbeat is not None else 0  # 0.3.8: none is 0
        messages.append(("task_heartbeat", task, {"heartbeat": heartbeat, "lifecycleStatus": status}))
        error, exception = texts.get(task, (None, None))
        if error:
            messages.append(("task_error", task, {"error": error, "lifecycleStatus": status}))
        if exception:
            messages.append(("task_exception", task, {"exception": exception, "lifecycleStatus": status}))
    return messages


def _error_texts(context: ApiContext, ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """0.3.8's keys, read in one round trip; live state that does not answer leaves the texts out."""
    def fill(batch: LiveReadBatch) -> None:
        for task in ids:
            batch.get(RedisKey.task_has_error(task))
            batch.get(RedisKey.task_exception(task))

    try:
        raw = context.live.read(fill) if ids else []
    except Exception as error:  # the heartbeats were sent; the texts come with the next change
        logger.warning(f"SSE snapshot without error texts: {type(error).__name__}: {error}")
        return {}
    pairs = zip(raw[0::2], raw[1::2], strict=True)
    return {task: (error or None, exception or None) for task, (error, exception) in zip(ids, pairs, strict=True)}

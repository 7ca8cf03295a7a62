"""Whether a user's request (cancel, pause, resume, update) can reach the edge node that runs the task.

An edge node runs its YAML tasks without the dispatcher; it hears requests on its event connection, or by
reconciling with the task store. It says which in its registration (`requests`). A request that could not
reach it is refused (409, with the reason) rather than stored as a success that does nothing.
"""

from __future__ import annotations

from typing import Any

from skalds.model.task import ModeEnum
from skalds.tasks.desired import process_may_exist
from skalds.transport.node_registry import NodeRecord


def unreachable(document: dict[str, Any], record: NodeRecord | None) -> str | None:
    """Why a request for this task cannot reach its edge node; None when it can, or when the task is not an
    edge task that a process may be running on a node the controller knows (otherwise the node or the
    monitor carries it out as usual)."""
    executor = document.get("executor")
    if document.get("mode") != ModeEnum.Active.value or not executor or not process_may_exist(document):
        return None
    if record is None or record.mode != "edge":  # a node not seen yet, or not an edge node: not refused here
        return None
    if not record.online:
        return f"edge node {executor} is offline: the request could not reach it"
    if record.requests == "none":
        return (f"edge node {executor} has no event connection (nor a task store to reconcile with): the request "
                "could not reach it")
    return None

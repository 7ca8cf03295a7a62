"""Is a task's stored status still confirmed by its node? A status that names a process (Assigning,
Running, Paused) is only as true as its node is alive: when the node falls silent, the task reads
Running until the monitor calls it lost, which waits for the node's fence time and a margin. The API
says so meanwhile (`statusUnconfirmed`) instead of showing the status as a fact.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from skalds.model.task import ACTIVE_STATUSES
from skalds.transport.node_registry import NodeRecord

SILENT_SECONDS = 3.0  # a node heartbeats every second (HEARTBEAT_PERIOD): three missed is silence


def silent_nodes(records: Mapping[str, NodeRecord], now: float | None = None,
                 silence: float = SILENT_SECONDS) -> dict[str, str]:
    """Why each node whose word cannot be trusted now is so: offline, or silent past `silence`."""
    moment = time.monotonic() if now is None else now
    reasons = {}
    for node_id, record in records.items():
        age = record.age_seconds(moment)
        if not record.online:
            reasons[node_id] = f"node {node_id} is offline"
        elif age > silence:
            reasons[node_id] = f"node {node_id} has been silent for {age:.0f}s"
    return reasons


def unconfirmed(document: dict[str, Any], records: Mapping[str, NodeRecord], silent: Mapping[str, str]) -> str | None:
    """Why the document's status is not confirmed by a live node, or None. Without any node records (a
    controller that runs no monitor) nothing is said."""
    executor = document.get("executor")
    if not records or not executor or document.get("lifecycleStatus") not in ACTIVE_STATUSES:
        return None
    reason = silent.get(executor) or (None if executor in records else f"node {executor} is not registered")
    if reason is None:
        return None
    return f"{reason}: its {document.get('lifecycleStatus')} is not confirmed until it reports again or the task moves"

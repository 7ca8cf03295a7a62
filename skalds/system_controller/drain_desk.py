"""The operator's wishes for nodes (cordoned, draining, drained), stored durably and cached.

The API writes through this desk; the dispatcher asks which nodes take no new tasks and the drain reconciler
which nodes to empty. Every controller re-reads the stored documents every REFRESH_SECONDS, so a wish stored
through another controller's API, or before this one started, is seen within that time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from skalds.model._time import now_ms
from skalds.transport.node_desires import NodeDesires
from skalds.utils.logging import logger

CORDONED, DRAINING, DRAINED = "cordoned", "draining", "drained"
REFRESH_SECONDS = 2.0
MAX_DRAIN_SECONDS = 7 * 86400


class DrainDesk:
    def __init__(self, desires: NodeDesires, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.desires = desires
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, Any]] = {}
        self._read_at = float("-inf")

    # --- reads ------------------------------------------------------------------------------------
    def states(self) -> dict[str, dict[str, Any]]:
        """node id -> its stored wish; re-read when older than the refresh period (the last copy if the store
        does not answer: a cordon is never forgotten because of an outage)."""
        if time.monotonic() - self._read_at >= self.refresh_seconds:
            try:
                fresh = self.desires.all()
            except Exception as error:  # the store is away: keep what was read last
                logger.debug(f"node wishes not re-read: {error}")
                fresh = None
            with self._lock:
                self._read_at = time.monotonic()
                if fresh is not None:
                    self._cache = fresh
        with self._lock:
            return dict(self._cache)

    def state_of(self, node_id: str) -> dict[str, Any] | None:
        return self.states().get(node_id)

    def unschedulable(self) -> set[str]:
        """Nodes that take no new tasks: cordoned, draining or drained."""
        return set(self.states())

    # --- the operator's requests -------------------------------------------------------------------
    def cordon(self, node_id: str) -> dict[str, Any]:
        """No new tasks for the node; a drain already asked for goes on."""
        current = self.state_of(node_id)
        if current is not None:
            return current
        return self._put(node_id, {"state": CORDONED, "requestedAt": now_ms()})

    def drain(self, node_id: str, deadline_seconds: float, parallelism: int) -> dict[str, Any]:
        """Cordon, then move every task away within `deadline_seconds` (asked again: a new deadline)."""
        stamp = now_ms()
        return self._put(node_id, {"state": DRAINING, "requestedAt": stamp, "deadlineSeconds": deadline_seconds,
                                   "deadlineAt": stamp + int(deadline_seconds * 1000), "parallelism": parallelism})

    def uncordon(self, node_id: str) -> bool:
        """Back to normal: a drain under way stops moving tasks (those already moved stay where they are)."""
        existed = self.state_of(node_id) is not None
        self.desires.delete(node_id)
        with self._lock:
            self._cache.pop(node_id, None)
        return existed

    def mark_drained(self, node_id: str, document: dict[str, Any]) -> None:
        """The drain is done: the node holds no task (it stays cordoned until uncordoned)."""
        self._put(node_id, {**document, "state": DRAINED, "drainedAt": now_ms()})

    def _put(self, node_id: str, document: dict[str, Any]) -> dict[str, Any]:
        self.desires.put(node_id, document)
        stored = {**document, "id": node_id}
        with self._lock:
            self._cache[node_id] = stored
        return stored


def shown(document: dict[str, Any] | None, self_draining: bool = False) -> dict[str, Any]:
    """The API's fields for a node's drain state (`drainState` None: it takes tasks)."""
    if document is None:
        return {"drainState": DRAINING if self_draining else None, "drainDeadline": None}
    return {"drainState": document.get("state"), "drainDeadline": document.get("deadlineAt")}

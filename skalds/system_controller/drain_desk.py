"""The operator's wishes for nodes (cordoned, draining, drained), stored durably and cached.

The API writes through this desk; the dispatcher asks which nodes take no new tasks and the drain reconciler
which nodes to empty. A write also stamps `skalds:node-wishes` in the live state. Every REFRESH_SECONDS a
controller reads that stamp (one Redis GET, not the store) and re-reads the stored documents only when it
changed, so a wish stored through another controller's API is seen within that time. They are also re-read
every `audit_seconds` (and at the first look): a stamp lost with an emptied Redis, or never written because
Redis was away, still reaches every controller.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from skalds.model._time import now_ms
from skalds.transport.node_desires import NodeDesires
from skalds.transport.ports import LiveState
from skalds.transport.wire_names import RedisKey
from skalds.utils.logging import logger

CORDONED, DRAINING, DRAINED = "cordoned", "draining", "drained"
REFRESH_SECONDS = 2.0  # how often the stamp is looked at
AUDIT_SECONDS = 30.0  # how often the stored wishes are read whatever the stamp says
MAX_DRAIN_SECONDS = 7 * 86400


class DrainDesk:
    def __init__(self, desires: NodeDesires, live: LiveState | None = None, refresh_seconds: float = REFRESH_SECONDS,
                 audit_seconds: float = AUDIT_SECONDS) -> None:
        self.desires = desires
        self.live = live
        self.refresh_seconds = refresh_seconds
        self.audit_seconds = audit_seconds
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, Any]] = {}
        self._looked_at = float("-inf")  # the stamp
        self._read_at = float("-inf")  # the store
        self._stamp: str | None = None
        self.reads = 0  # of the store, for tests and the log

    # --- reads ------------------------------------------------------------------------------------
    def states(self) -> dict[str, dict[str, Any]]:
        """node id -> its stored wish (the last copy if the store does not answer: a cordon is never forgotten
        because of an outage)."""
        now = time.monotonic()
        if now - self._looked_at >= self.refresh_seconds:
            self._looked_at = now
            if self._stamp_changed() or now - self._read_at >= self.audit_seconds:
                self._read(now)
        with self._lock:
            return dict(self._cache)

    def _stamp_changed(self) -> bool:
        """Whether a writer stamped a change since the last look (True when there is no live state to ask)."""
        if self.live is None:
            return True
        try:
            stamp = self.live.get(RedisKey.NODE_WISHES)
        except Exception:  # the live state is away: the audit re-read covers it
            return False
        changed, self._stamp = stamp != self._stamp, stamp
        return changed

    def _read(self, now: float) -> None:
        try:
            fresh = self.desires.all()
        except Exception as error:  # the store is away: keep what was read last, try again at the next look
            logger.debug(f"node wishes not re-read: {error}")
            self._stamp = None
            return
        self.reads += 1
        with self._lock:
            self._read_at = now
            self._cache = fresh

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
        self._stamp_write()
        return existed

    def mark_drained(self, node_id: str, document: dict[str, Any]) -> None:
        """The drain is done: the node holds no task (it stays cordoned until uncordoned)."""
        self._put(node_id, {**document, "state": DRAINED, "drainedAt": now_ms()})

    def _put(self, node_id: str, document: dict[str, Any]) -> dict[str, Any]:
        self.desires.put(node_id, document)
        stored = {**document, "id": node_id}
        with self._lock:
            self._cache[node_id] = stored
        self._stamp_write()
        return stored

    def _stamp_write(self) -> None:
        """Tell the other controllers to re-read (best effort: their audit re-read covers a lost stamp)."""
        if self.live is None:
            return
        stamp = str(now_ms())
        try:
            self.live.write(lambda batch: batch.set(RedisKey.NODE_WISHES, stamp))
        except Exception as error:
            logger.warning(f"other controllers see this node wish within {self.audit_seconds:g}s: {error}")


def shown(document: dict[str, Any] | None, self_draining: bool = False) -> dict[str, Any]:
    """The API's fields for a node's drain state (`drainState` None: it takes tasks)."""
    if document is None:
        return {"drainState": DRAINING if self_draining else None, "drainDeadline": None}
    return {"drainState": document.get("state"), "drainDeadline": document.get("deadlineAt")}

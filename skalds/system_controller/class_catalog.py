"""Which worker classes the registered nodes run, and the attachments schema each of them published.

Read from live state by its own `NodeRegistry` (the monitor's one counts online/offline transitions,
which these reads must not consume), at most once per `max_age` seconds, and at once when a class is
not found (a node that has just started is seen by the next request). A node counts while its
registration is there: a stopped node removes it, a crashed node's class list expires with its keys.
"""

from __future__ import annotations

import threading
import time

from skalds.system_controller.nodes import NodeRecord, NodeRegistry
from skalds.transport.ports import LiveState, ServiceUnavailableError
from skalds.utils.logging import logger


class ClassCatalog:
    def __init__(self, live: LiveState, heartbeat_timeout: float, max_age: float = 1.0) -> None:
        self._registry = NodeRegistry(live, heartbeat_timeout)
        self._max_age = max_age
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def nodes(self, fresh: bool = False) -> dict[str, NodeRecord]:
        """The registered nodes, read again when older than `max_age` (or `fresh`)."""
        with self._lock:
            now = time.monotonic()
            if fresh or now - self._read_at > self._max_age:
                try:
                    self._registry.refresh()
                except ServiceUnavailableError:
                    if self._read_at == float("-inf"):
                        raise  # nothing known yet: the request answers 503
                    logger.warning("live state did not answer; the classes of nodes are those read last")
                self._read_at = now  # after a failure too: the next try comes after max_age, not at once
            return dict(self._registry.nodes)

    def runners(self, class_name: str, fresh_on_miss: bool = True) -> list[NodeRecord]:
        """The nodes that register `class_name`; read again once before answering none."""
        found = [node for node in self.nodes().values() if class_name in node.supported_tasks]
        if not found and fresh_on_miss:
            found = [node for node in self.nodes(fresh=True).values() if class_name in node.supported_tasks]
        return found

    def known(self) -> set[str]:
        """Every class some registered node runs (cached: for the task views' "waiting for a node")."""
        return {name for node in self.nodes().values() for name in node.supported_tasks}

"""A thread for the node's follow-up work that may wait on a service (starting the next attempt
of a task once its old copy exited reads the task store), so the reactor thread never does."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from skalds.utils.logging import logger

_STOP = object()


class Deferred:
    def __init__(self, name: str = "skalds-deferred") -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run(self, action: Callable[[], None], what: str) -> None:
        """Run `action` soon, in order with the others; `what` names it if it fails."""
        self._queue.put((action, what))

    def close(self, timeout: float = 5.0) -> None:
        """Run what is queued, then stop."""
        self._queue.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            action, what = item  # type: ignore[misc]
            try:
                action()
            except Exception as error:
                logger.exception(f"{what} failed: {error}")

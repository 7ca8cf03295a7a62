"""Worker processes forked ahead of time, so an assigned task does not wait for a fork.

A standby is a fork-server child that waits on its pipe for the pickled worker (every child
does; a standby simply was forked before its task arrived). The pool refills itself on a
background thread. A standby that died while idle is skipped; when none is ready, the
supervisor forks one on the spot.
"""

from __future__ import annotations

import contextlib
import threading
from multiprocessing.connection import Connection

from skalds.node.forkserver import ForkServer, WorkerProcess
from skalds.utils.logging import logger


class StandbyPool:
    """Keeps `size` standbys ready. `take()` never blocks on a fork."""

    def __init__(self, size: int, fork_server: ForkServer) -> None:
        self.size = size
        self.fork_server = fork_server
        self._ready: list[tuple[WorkerProcess, Connection]] = []
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.size <= 0:
            return
        self._thread = threading.Thread(target=self._refill_loop, name="skalds-standby-pool", daemon=True)
        self._thread.start()
        self._wanted.set()

    def take(self) -> tuple[WorkerProcess, Connection] | None:
        """A live standby and the node's end of its pipe, or None when none is ready."""
        with self._lock:
            while self._ready:
                standby, connection = self._ready.pop(0)
                if standby.is_alive():
                    self._wanted.set()
                    return standby, connection
                self.discard(standby, connection)
        self._wanted.set()
        return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ready, self._ready = self._ready, []
        self._wanted.set()
        for standby, connection in ready:
            self.discard(standby, connection)

    def _refill_loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            forked = 0
            while True:
                with self._lock:
                    if self._closed or len(self._ready) >= self.size:
                        break
                try:
                    standby = self.fork_server.spawn()
                except Exception as error:  # the usual start path still works; try again on the next take
                    logger.warning(f"could not prepare a standby worker process: {error}")
                    break
                with self._lock:
                    if self._closed:
                        self.discard(*standby)
                        return
                    self._ready.append(standby)
                forked += 1
            if self._closed:
                return
            if forked:
                logger.debug(f"{len(self._ready)} standby worker process(es) ready")

    @staticmethod
    def discard(standby: WorkerProcess, connection: Connection) -> None:
        with contextlib.suppress(OSError):
            connection.close()  # the standby sees the closed pipe and exits
        standby.join(timeout=2)
        if not standby.poll_exit():
            standby.kill()
            standby.join(timeout=1)
        standby.close()

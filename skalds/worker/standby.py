"""Worker processes forked ahead of time, so an assigned task does not wait for a fork.

A standby is a fork-server child that has already been forked and set up, and waits on its
pipe. Starting a task sends it the pickled worker; it becomes that worker in place and runs
the same lifecycle as a freshly started one (same pipe protocol, exit codes and signals).
The pool refills itself on a background thread. A standby that died while idle is skipped;
when none is ready, the supervisor starts the worker the usual way.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing import context as mp_context
from multiprocessing import process as mp_process
from multiprocessing import reduction
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerProcess

from skalds.utils.logging import configure_logging, logger
from skalds.worker.runtime import LaunchSettings

REFILL_DELAY_SECONDS = 0.05


class _NoFdPassing:
    """Stands in for the spawning Popen while a worker is pickled for a standby: process objects
    pickle only while spawning, and a worker sent this way carries no file descriptors."""

    def duplicate_for_child(self, fd: int) -> int:
        raise TypeError("a worker handed to a standby process cannot carry file descriptors")


def pickle_for_standby(worker: object) -> bytes:
    """The worker, pickled the way multiprocessing pickles a process it starts."""
    buffer = io.BytesIO()
    mp_context.set_spawning_popen(_NoFdPassing())
    try:
        reduction.ForkingPickler(buffer).dump(worker)
    finally:
        mp_context.set_spawning_popen(None)
    return buffer.getvalue()


class StandbyProcess(ForkServerProcess):
    """Waits for a worker to become; exits quietly when the node lets it go (pipe closed)."""

    def __init__(self, connection: Connection, launch: LaunchSettings) -> None:
        super().__init__(name="skalds-standby", daemon=False)
        self._connection = connection
        self._launch = launch

    def run(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the node, which stops us
        launch = self._launch  # set up logging now: the worker's own setup then only names its task
        configure_logging(level=launch.log_level, skald_id=launch.skald_id, json=launch.log_json)
        try:
            payload = self._connection.recv_bytes()
        except (EOFError, OSError):
            os._exit(0)
        worker = reduction.ForkingPickler.loads(payload)
        worker._skalds_connection = self._connection
        mp_process._current_process = worker  # current_process() and worker.pid behave as in a started worker
        worker.run()


class StandbyPool:
    """Keeps `size` standbys ready. `take()` never blocks on a fork."""

    def __init__(self, size: int, launch: LaunchSettings) -> None:
        self.size = size
        self.launch = launch
        self._ready: list[tuple[StandbyProcess, Connection]] = []
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

    def take(self) -> tuple[StandbyProcess, Connection] | None:
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

    def give_back(self, standby: StandbyProcess, connection: Connection) -> None:
        """An unused standby goes back to the pool (the worker could not be handed over)."""
        with self._lock:
            if not self._closed:
                self._ready.insert(0, (standby, connection))
                return
        self.discard(standby, connection)

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
            # Let the task that took a standby start first: forking holds the node's GIL for a while.
            time.sleep(REFILL_DELAY_SECONDS)
            self._wanted.clear()
            forked = 0
            while True:
                with self._lock:
                    if self._closed or len(self._ready) >= self.size:
                        break
                try:
                    standby = self._fork(self.launch)
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
    def _fork(launch: LaunchSettings) -> tuple[StandbyProcess, Connection]:
        parent_end, child_end = multiprocessing.get_context("forkserver").Pipe(duplex=True)
        try:
            standby = StandbyProcess(child_end, launch)
            standby.start()
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        return standby, parent_end

    @staticmethod
    def discard(standby: StandbyProcess, connection: Connection) -> None:
        with contextlib.suppress(OSError):
            connection.close()  # the standby sees the closed pipe and exits
        standby.join(timeout=2)
        if standby.is_alive():
            standby.kill()
            standby.join(timeout=1)
        with contextlib.suppress(ValueError):
            standby.close()

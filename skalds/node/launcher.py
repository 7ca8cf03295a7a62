"""Getting a worker into a process: a standby if one is ready, else one forked now, and once more
if its fork server died before forking it."""

from __future__ import annotations

import time
from multiprocessing.connection import Connection

from skalds.node.forkserver import ForkServer, ForkServerConfig, WorkerProcess
from skalds.node.handles import WorkerHandle
from skalds.node.log_capture import LogCapture
from skalds.node.orphans import kill_stopped_workers_of
from skalds.node.standby import StandbyPool
from skalds.utils.logging import logger
from skalds.worker.runtime import LaunchSettings


class Launcher:
    """Owns the node's fork server and standby pool."""

    def __init__(self, modules: list[str], launch: LaunchSettings, standby_workers: int) -> None:
        self.fork_server = ForkServer(ForkServerConfig(
            modules=["skalds.worker.baseclass", *modules],
            logging={"level": launch.log_level, "skald_id": launch.skald_id, "json": launch.log_json},
            owner=launch.skald_id))
        self.standby = StandbyPool(standby_workers, self.fork_server)
        self.capture: LogCapture | None = None  # reads each launched worker's output

    def start(self) -> None:
        """Start the template process now (not on the first task), with the main module and the
        worker modules imported once, so a worker starts in milliseconds. First kill the paused workers
        an earlier run of this node left stopped (see `orphans`)."""
        kill_stopped_workers_of(self.fork_server.config.owner)
        started = time.perf_counter()
        self.fork_server.start()
        logger.debug(f"worker fork server started in {(time.perf_counter() - started) * 1000:.0f} ms")
        self.standby.start()

    def close(self) -> None:
        self.standby.close()
        self.fork_server.close()  # workers still running (past the grace) do not depend on it

    def launch(self, payload: bytes, task_id: str, attempt: int) -> tuple[WorkerProcess, Connection, str]:
        """Hand the pickled worker to a standby process if one is ready, else to a process forked now;
        its output is read as this attempt's."""
        process, parent_end, how = self._launch(payload)
        if self.capture is not None:
            self.capture.watch(process.take_output(), task_id, attempt)
        return process, parent_end, how

    def _launch(self, payload: bytes) -> tuple[WorkerProcess, Connection, str]:
        standby = self.standby.take()
        if standby is not None:
            process, parent_end = standby
            try:
                parent_end.send_bytes(payload)
                return process, parent_end, "standby"
            except OSError as error:  # it died just now: fork one
                logger.debug(f"standby process {process.pid} unusable ({error}); forking instead")
                StandbyPool.discard(process, parent_end)
        process, parent_end = self.fork_server.spawn()
        try:
            parent_end.send_bytes(payload)
        except OSError:
            StandbyPool.discard(process, parent_end)
            raise
        return process, parent_end, "forked"

    def relaunch_if_never_ran(self, handle: WorkerHandle) -> tuple[WorkerProcess, Connection, str] | None:
        """A worker whose fork server died before forking it (no pid, never reported in, nobody on
        its pipe) is handed to a new process once, instead of failing a task that never ran.

        Returns the new process for the caller to swap in (under its lock), or None."""
        if handle.payload is None or handle.reported_in or handle.stop_reason is not None \
                or handle.process.pid is not None or not _peer_gone(handle.connection):
            return None
        payload, handle.payload = handle.payload, None  # once
        logger.warning(f"task {handle.task_id}: the worker fork server died before starting it; starting it again")
        try:
            return self.launch(payload, handle.task_id, handle.attempt)
        except Exception as error:
            logger.error(f"task {handle.task_id}: could not start it again: {error}")
            return None


def _peer_gone(connection: Connection) -> bool:
    """True when the other end of the pipe is closed (nothing left to read, end of file)."""
    try:
        if not connection.poll():
            return False
        connection.recv_bytes()
    except (EOFError, OSError):
        return True
    return False

"""The node's side of the worker fork server (`forkserver_main.py`): start it, ask it for processes.

`ForkServer.spawn()` returns a `WorkerProcess` (pid, exit sentinel, exit code, the read end of its
output pipe: its stdout and stderr, see `log_capture`) and the node's end of the child's worker pipe,
without waiting for the fork; the child runs nothing until the pickled worker (`pickle_worker`)
arrives on that pipe. Spawning ahead of time is how standby workers are made.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from multiprocessing import context as mp_context
from multiprocessing import reduction, spawn
from multiprocessing.connection import Connection, Pipe
from typing import Any

from skalds.node.forkserver_main import CODE_FORMAT, PID_FORMAT, READY, SPAWN
from skalds.node.orphans import WORKER_OF_ENV
from skalds.utils.logging import logger

START_TIMEOUT_SECONDS = 60.0  # importing the user's main module and worker modules
ANSWER_TIMEOUT_SECONDS = 30.0  # a fork takes milliseconds; a server this slow is treated as gone
OUTPUT_PIPE_BYTES = 1024 * 1024  # a worker's burst of output waits here, not in the worker, while the node reads


class ForkServerError(RuntimeError):
    """The fork server could not be started or could not fork."""


@dataclass
class ForkServerConfig:
    """What the fork server imports before its first fork."""

    modules: list[str] = field(default_factory=list)
    logging: dict[str, Any] | None = None
    owner: str = ""  # the node's id, inherited by every worker (see `orphans`)


class _NoFdPassing:
    """Stands in for the spawning Popen while a worker is pickled: process objects pickle only while
    spawning, and a worker handed over this way carries no file descriptors."""

    def duplicate_for_child(self, fd: int) -> int:
        raise TypeError("a worker handed to its process cannot carry file descriptors")


def pickle_worker(worker: object) -> bytes:
    """The worker, pickled the way multiprocessing pickles a process it starts."""
    buffer = io.BytesIO()
    mp_context.set_spawning_popen(_NoFdPassing())
    try:
        reduction.ForkingPickler(buffer).dump(worker)
    finally:
        mp_context.set_spawning_popen(None)
    return buffer.getvalue()


class WorkerProcess:
    """A child of the fork server, as the supervisor sees it: pid, sentinel, exit code.

    Spawning does not wait for the fork: the pid is read from the server's answers, in order,
    when first asked for (or when a later spawn finds the answers waiting)."""

    def __init__(self, server: ForkServer, status_fd: int, output_fd: int | None = None) -> None:
        self.exitcode: int | None = None
        self.output_fd = output_fd  # read end of its stdout/stderr; whoever takes it closes it
        self.exit_unknown = False  # the fork server could not fork it, or died before reporting its code
        self._server = server
        self._pid: int | None = None  # -1: never forked
        self._status_fd: int | None = status_fd
        self._pidfd: int | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid; None if it was never forked."""
        if self._pid is None:
            self._server.wait_for_pid(self)
        return self._pid if self._pid is not None and self._pid > 0 else None

    @property
    def sentinel(self) -> int:
        """Readable once the process has ended (or its fork server died: `poll_exit` sorts that out)."""
        if self._status_fd is not None:
            return self._status_fd
        if self._pidfd is not None:
            return self._pidfd
        raise ValueError("process closed")

    def poll_exit(self, timeout: float = 0.0) -> bool:
        """True once the process has ended; reads its exit code when the fork server reports it."""
        if self.exitcode is not None or (self.exit_unknown and self._pidfd is None):
            return True
        ready, _, _ = select.select([self.sentinel], [], [], timeout)
        if not ready:
            return False
        if self._status_fd is not None:
            data = _read_exactly(self._status_fd, struct.calcsize(CODE_FORMAT))
            os.close(self._status_fd)
            self._status_fd = None
            if data is not None:
                self.exitcode = struct.unpack(CODE_FORMAT, data)[0]
                return True
            self.exit_unknown = True  # no code: the fork server is gone; watch the process itself
            pid = self.pid
            if pid is None:
                return True
            try:
                self._pidfd = os.pidfd_open(pid)
            except OSError:
                return True  # already gone
            return self.poll_exit(timeout)
        os.close(self._pidfd)  # type: ignore[arg-type]
        self._pidfd = None
        return True

    def join(self, timeout: float | None = None) -> None:
        self.poll_exit(timeout if timeout is not None else 365 * 86400.0)

    def is_alive(self) -> bool:
        return not self.poll_exit()

    def kill(self) -> None:
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def take_output(self) -> int | None:
        """The read end of the process's output pipe, now the caller's to close."""
        fd, self.output_fd = self.output_fd, None
        return fd

    def close(self) -> None:
        for fd in (self._status_fd, self._pidfd, self.output_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._status_fd = self._pidfd = self.output_fd = None


class ForkServer:
    """One fork server process per supervisor; restarted on demand if it dies."""

    def __init__(self, config: ForkServerConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._unanswered: deque[WorkerProcess] = deque()  # spawned, pid not read yet, in request order

    def start(self) -> None:
        with self._lock:
            self._ensure_running()

    def spawn(self) -> tuple[WorkerProcess, Connection]:
        """A new child waiting for its worker, and the node's end of its pipe. Does not wait for the
        fork: the worker can be sent on the pipe at once, the child reads it when it runs."""
        parent_end, child_end = Pipe(duplex=True)
        status_r, status_w = os.pipe()
        output_r, output_w = os.pipe()
        with contextlib.suppress(OSError):
            fcntl.fcntl(output_w, fcntl.F_SETPIPE_SZ, OUTPUT_PIPE_BYTES)
        process = WorkerProcess(self, status_r, output_r)
        try:
            with self._lock:
                self._read_answers_locked(block_for=None)  # keeps the answers from piling up
                self._request_locked([child_end.fileno(), status_w, output_w])
                self._unanswered.append(process)
        except BaseException:
            parent_end.close()
            process.close()
            raise
        finally:
            child_end.close()
            os.close(status_w)
            os.close(output_w)
        return process, parent_end

    def wait_for_pid(self, process: WorkerProcess) -> None:
        with self._lock:
            self._read_answers_locked(block_for=process)

    def close(self) -> None:
        with self._lock:
            self._read_answers_locked(block_for=None)
            self._stop_locked(closing=True)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _request_locked(self, fds: list[int]) -> None:
        """Send one spawn request; a server found dead is replaced once."""
        for tries_left in (1, 0):
            control = self._ensure_running()
            try:
                socket.send_fds(control, [SPAWN], fds)
                return
            except OSError as error:
                self._stop_locked()
                if not tries_left:
                    raise ForkServerError(f"worker fork server unreachable: {error}") from error
                logger.warning(f"worker fork server unreachable ({error}); starting a new one")

    def _read_answers_locked(self, block_for: WorkerProcess | None) -> None:
        """Read the answers waiting (or, for `block_for`, until its own) and hand out their pids."""
        while self._unanswered and (block_for is None or block_for._pid is None):
            control = self._control
            if control is None:
                self._fail_unanswered()
                return
            control.settimeout(ANSWER_TIMEOUT_SECONDS if block_for is not None else 0.0)
            try:
                answer = control.recv(16)
            except BlockingIOError:
                return
            except OSError:  # closed, or no answer in time: the server is gone or stuck
                answer = b""
            finally:
                control.settimeout(None)
            if len(answer) != struct.calcsize(PID_FORMAT):  # the server is gone: these never forked
                self._stop_locked()
                return
            self._unanswered.popleft()._pid = struct.unpack(PID_FORMAT, answer)[0]
        if block_for is not None and block_for._pid is None:
            block_for._pid = -1  # asked after its server was replaced: it was never forked

    def _fail_unanswered(self, closing: bool = False) -> None:
        if self._unanswered and not closing:
            logger.warning(f"worker fork server gone before forking {len(self._unanswered)} worker(s)")
        while self._unanswered:
            self._unanswered.popleft()._pid = -1

    def _ensure_running(self) -> socket.socket:
        if self._process is not None and self._process.poll() is None and self._control is not None:
            return self._control
        if self._process is not None:
            logger.warning(f"worker fork server exited ({self._process.returncode}); starting a new one")
            self._stop_locked()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        main = spawn.get_preparation_data("skalds")
        config = {"modules": self.config.modules, "logging": self.config.logging, "argv": sys.argv,
                  "sys_path": main.get("sys_path") or sys.path,
                  "main_path": main.get("init_main_from_path"), "main_name": main.get("init_main_from_name")}
        command = [sys.executable, "-c", "from skalds.node.forkserver_main import main; main()",
                   str(theirs.fileno()), json.dumps(config)]
        try:
            self._process = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                             env={**os.environ, WORKER_OF_ENV: self.config.owner})
        finally:
            theirs.close()
        ours.settimeout(START_TIMEOUT_SECONDS)
        try:
            ready = ours.recv(16)
        except OSError:
            ready = b""
        if ready != READY:
            ours.close()
            self._process.kill()
            self._process.wait()
            self._process = None
            raise ForkServerError("the worker fork server did not start (its error is on stderr above)")
        ours.settimeout(None)
        self._control = ours
        return ours

    def _stop_locked(self, closing: bool = False) -> None:
        self._fail_unanswered(closing)
        if self._control is not None:
            with contextlib.suppress(OSError):
                self._control.close()  # the server exits when it sees the closed socket
            self._control = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = os.read(fd, size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


__all__ = ["ForkServer", "ForkServerConfig", "ForkServerError", "WorkerProcess", "pickle_worker"]

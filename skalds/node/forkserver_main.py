"""The worker fork server: a fresh, single-threaded Python that imports the workers once and forks one child per task.

The node starts it (`node/forkserver.py`) with a configuration on argv and one end of a
SOCK_SEQPACKET socket. Each request carries three descriptors: the child's end of the worker
pipe, the write end of a status pipe and the write end of its output pipe (the child's stdout and
stderr; a request with two has none). The server forks, answers with the child's pid, and
writes the child's exit code (4 bytes, signed; negative = killed by that signal) to the
status pipe once it has reaped it. The child waits on its worker pipe for the pickled worker,
becomes it and runs its lifecycle: a standby worker is simply a child still waiting there.

Why not multiprocessing's fork server: its child re-reads pickled preparation data and
bootstraps a Process object before running anything. Copy-on-write page faults are most of
a short task's cost on a VM, and that bootstrap was about 250 of a worker's ~1,070. This
child does the minimum: close the server's descriptors, read one message, run.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import selectors
import signal
import socket
import struct
import sys
import traceback
from multiprocessing import process as mp_process
from multiprocessing import spawn, util
from multiprocessing.connection import Connection
from typing import Any

SPAWN = b"spawn"
READY = b"ready"
PID_FORMAT = "!i"  # the server's answer: the child's pid, or -1 when the fork failed
CODE_FORMAT = "!i"  # written to the status pipe: the child's exit code


def main() -> None:
    """Entry point: `python -c 'from skalds.node.forkserver_main import main; main()' FD CONFIG_JSON`."""
    control = socket.socket(fileno=int(sys.argv[1]))
    config: dict[str, Any] = json.loads(sys.argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the node, which stops us by closing the socket
    _prepare(config)
    control.send(READY)
    _serve(control)


def _prepare(config: dict[str, Any]) -> None:
    """Import what every worker needs, once. Failures only log: a child then imports on demand."""
    sys.argv[:] = config.get("argv") or [""]
    if config.get("sys_path"):
        sys.path[:] = config["sys_path"]
    for name in config.get("modules", []):
        try:
            __import__(name)
        except BaseException as error:
            _warn(f"could not import worker module {name!r} in the fork server: {error!r}")
    _load_main(config.get("main_path"), config.get("main_name"))
    logging = config.get("logging")
    if logging:
        try:  # set up once here: each worker inherits the sink (about 8 ms of CPU per task otherwise)
            from skalds.utils.logging import configure_logging

            configure_logging(**logging)
        except BaseException as error:
            _warn(f"could not set up logging in the fork server: {error!r}")


def _load_main(path: str | None, name: str | None) -> None:
    """Load the node's main module as `__main__`, so worker classes defined in the node script unpickle."""
    if not path and not name:
        return
    current = mp_process.current_process()
    current._inheriting = True  # type: ignore[attr-defined]  # the main module's `if __name__ == "__main__"` stays off
    try:
        if path:
            spawn.import_main_path(path)
        else:
            spawn._fixup_main_from_name(name)  # type: ignore[attr-defined]
    except BaseException as error:
        _warn(f"could not load the main module in the fork server: {error!r}")
    finally:
        del current._inheriting  # type: ignore[attr-defined]


def _serve(control: socket.socket) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through the wakeup fd
    status_by_pid: dict[int, int] = {}
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    own_fds = [control.fileno(), selector.fileno(), wake_r, wake_w]
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                if not _answer(control, own_fds, status_by_pid):  # the node closed its end: gone or stopping
                    _reap(status_by_pid)
                    return
            else:
                _drain(wake_r)
                _reap(status_by_pid)


def _answer(control: socket.socket, own_fds: list[int], status_by_pid: dict[int, int]) -> bool:
    """Handle one spawn request; False when the node has closed the connection."""
    try:
        message, fds, _flags, _address = socket.recv_fds(control, 64, 3)
    except OSError:
        return False
    if not message:
        return False
    if message != SPAWN or len(fds) not in (2, 3):
        for fd in fds:
            os.close(fd)
        control.send(struct.pack(PID_FORMAT, -1))
        return True
    worker_fd, status_fd, output_fd = (*fds, None) if len(fds) == 2 else fds
    pid = _fork_child(worker_fd, output_fd, [*own_fds, status_fd, *status_by_pid.values()])
    os.close(worker_fd)
    if output_fd is not None:
        os.close(output_fd)
    if pid < 0:
        os.close(status_fd)
    else:
        status_by_pid[pid] = status_fd
    control.send(struct.pack(PID_FORMAT, pid))
    return True


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 512):
                return
        except BlockingIOError:
            return


def _fork_child(worker_fd: int, output_fd: int | None, server_fds: list[int]) -> int:
    try:
        pid = os.fork()
    except OSError as error:
        _warn(f"fork failed: {error}")
        return -1
    if pid == 0:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in server_fds:
                os.close(fd)
            if output_fd is not None:
                _capture_output(output_fd)
            code = _become_worker(Connection(worker_fd))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(BaseException):
                    stream.flush()
            os._exit(code)
    return pid


def _capture_output(output_fd: int) -> None:
    """Make the output pipe this process's stdout and stderr (also of C code and subprocesses), line
    buffered so a print reaches the node at once, and have the logger write structured records to it."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    logging = sys.modules.get("skalds.utils.logging")
    if logging is not None:
        logging.write_records_to(2)


def _become_worker(connection: Connection) -> int:
    """Wait for the pickled worker, then run it in this process. Returns the exit code."""
    try:
        payload = connection.recv_bytes()
    except (EOFError, OSError):
        return 0  # a standby the node let go
    util._finalizer_registry.clear()  # as multiprocessing does in a new process
    util._run_after_forkers()
    worker = pickle.loads(payload)
    worker._skalds_connection = connection
    mp_process._current_process = worker  # current_process() and worker.pid behave as in a started Process
    worker.run()
    return 0


def _reap(status_by_pid: dict[int, int]) -> None:
    while status_by_pid:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = status_by_pid.pop(pid, None)
        if fd is None:
            continue
        with contextlib.suppress(OSError):  # the node may have stopped listening for this one
            os.write(fd, struct.pack(CODE_FORMAT, os.waitstatus_to_exitcode(status)))
        os.close(fd)


def _warn(text: str) -> None:
    sys.stderr.write(f"skalds fork server: {text}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    main()

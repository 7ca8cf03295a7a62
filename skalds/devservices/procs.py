"""Start, identify and stop the server processes that ``up`` owns.

A pid alone is not an identity: after a reboot or a long time it may belong to something else.
So a record keeps the pid, the kernel's start time of that process and a few strings its command
line must contain, and nothing is signalled unless all three still match.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ServiceError


@dataclass
class ProcRecord:
    """What ``up`` wrote down about a process it started."""

    pid: int
    starttime: int | None
    port: int
    version: str
    markers: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)

    def save(self, path: Path) -> None:
        """Write atomically, so a crash never leaves half a record that ``down`` would misread."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> ProcRecord | None:
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def is_running(pid: int) -> bool:
    """True for a live process; a zombie (exited, not yet reaped) counts as gone."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def starttime(pid: int) -> int | None:
    """The process start time in clock ticks since boot: unique per pid incarnation."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # field 22 of stat overall; fields[0] here is field 3 (state)
    return int(fields[19])


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def owns(record: ProcRecord) -> bool:
    """Whether the recorded process is still the one we started (alive, same start, same cmdline)."""
    if not is_running(record.pid):
        return False
    if record.starttime is not None and starttime(record.pid) != record.starttime:
        return False
    line = cmdline(record.pid)
    return all(marker in line for marker in record.markers)


def terminate(pid: int, grace_s: float = 20.0) -> str:
    """SIGTERM, wait up to ``grace_s``, then SIGKILL; returns how it ended ('term' or 'kill')."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not is_running(pid):
            return "term"
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and is_running(pid):
        time.sleep(0.1)
    return "kill"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Something accepts TCP connections there (says nothing about what it is)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a server detached from our terminal and session, its output appended to ``log``.

    A new session keeps Ctrl-C in the calling shell from reaching the server; the Popen handle
    lets the caller notice an early exit (and reap it) while waiting for readiness.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True, close_fds=True,
        )


def run_logged(service: str, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None,
               cwd: Path | None = None, what: str = "command") -> None:
    """Run a build/install step to completion, output to ``log``; fail with the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            rc = subprocess.call(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 env=dict(env) if env is not None else None, cwd=cwd)
        except FileNotFoundError as exc:
            raise ServiceError(service, f"{what}: {argv[0]} not found", log) from exc
    if rc != 0:
        raise ServiceError(service, f"{what} failed (exit {rc}):\n{tail(log)}", log)


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log, indented, for error messages."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode(errors="replace")
    except OSError:
        return "    (no log written)"
    picked = text.splitlines()[-lines:]
    return "\n".join("    " + line for line in picked) or "    (log is empty)"

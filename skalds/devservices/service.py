"""The up/down/status rules shared by every service; subclasses only say how to install and start.

Rules:
- ``up`` is a no-op for a server we started that still answers, reuses (without recording) a
  server someone else runs on the port if it speaks the protocol, and refuses a port held by
  anything else.
- ``down`` signals only a process whose record (pid + start time + command line) still matches.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from .config import HOST, Settings
from .console import say
from .errors import ServiceError
from .procs import ProcRecord, owns, port_open, spawn, starttime, terminate
from .readiness import Probe, wait_ready


@dataclass(frozen=True)
class Status:
    """One row of ``status``."""

    name: str
    state: str  # running | running (external) | not answering | stopped
    port: int
    version: str
    pid: int | None

    @property
    def ok(self) -> bool:
        return self.state.startswith("running")


class Service(ABC):
    """A server on 127.0.0.1 whose files live in ``<state dir>/<name>``."""

    name: str = ""
    ready_deadline_s: float = 30.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # -- what a subclass provides -------------------------------------------------------------
    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    @abstractmethod
    def version(self) -> str: ...

    @property
    @abstractmethod
    def log(self) -> Path:
        """The server's main log, named in every error."""

    @abstractmethod
    def probe(self) -> Probe:
        """A protocol round trip without credentials (what an external server must answer)."""

    @abstractmethod
    def start(self) -> ProcRecord:
        """Install if needed, start, wait until ready and return the record to keep."""

    def ready_probe(self) -> Probe:
        """What ``up`` waits for after starting its own server; stricter than ``probe`` if needed."""
        return self.probe()

    def external_version(self) -> str:
        """Version reported by a server we did not start, for ``status``; '?' if it does not say."""
        return "?"

    def other_ports(self) -> list[int]:
        """Further ports the server binds (Kafka's controller), which must be free too."""
        return []

    def wipe(self) -> None:
        """Delete the data dir (``reset``); ``down`` keeps it, so ``up`` continues with the same data."""
        remove_tree(self.data_dir)

    # -- shared rules ---------------------------------------------------------------------------
    @property
    def dir(self) -> Path:
        return self.settings.state_dir / self.name

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def record_path(self) -> Path:
        return self.dir / f"{self.name}.pid.json"

    def _record(self) -> ProcRecord | None:
        return ProcRecord.load(self.record_path)

    def _forget(self) -> None:
        self.record_path.unlink(missing_ok=True)

    def up(self) -> None:
        record = self._record()
        if record is not None and owns(record):
            if record.port != self.port:
                raise ServiceError(self.name, f"already running on port {record.port} (pid {record.pid}), but port "
                                              f"{self.port} is configured now; run 'down' first")
            if self.probe()(2.0):
                say(self.name, f"already running (pid {record.pid}, port {record.port}); nothing to do")
                return
            say(self.name, f"pid {record.pid} is running but not answering yet; waiting")
            wait_ready(self.name, self.probe(), self.ready_deadline_s, [self.log])
            say(self.name, f"ready (pid {record.pid})")
            return
        if record is not None:
            say(self.name, f"forgetting stale record (pid {record.pid} is gone or is another program)")
            self._forget()
        if port_open(HOST, self.port):
            if self.probe()(3.0):
                say(self.name, f"port {self.port} already serves {self.name} (not started by us): reusing it; "
                               "'down' will leave it alone")
                return
            raise ServiceError(self.name, f"port {self.port} is taken by something that does not answer as "
                                          f"{self.name}; free it or set the port variable (see config.py)")
        for port in self.other_ports():
            if port_open(HOST, port):
                raise ServiceError(self.name, f"port {port} is already in use; free it or set the port variable")
        self.dir.mkdir(parents=True, exist_ok=True)
        record = self.start()
        record.save(self.record_path)
        say(self.name, f"running: {HOST}:{self.port}, version {record.version}, pid {record.pid}, log {self.log}")

    def down(self) -> None:
        record = self._record()
        if record is None:
            if port_open(HOST, self.port) and self.probe()(2.0):
                say(self.name, f"not started by us; leaving the server on port {self.port} alone")
            else:
                say(self.name, "not running")
            return
        if owns(record):
            how = terminate(record.pid)
            say(self.name, f"stopped pid {record.pid}" + (" (needed SIGKILL)" if how == "kill" else ""))
        else:
            say(self.name, f"pid {record.pid} is gone or now another program; not signalling it")
        self._forget()

    def reset(self) -> None:
        """``down``, then delete the data: the next ``up`` starts from an empty Kafka and database."""
        self.down()
        self.wipe()
        say(self.name, f"data deleted ({self.data_dir})")

    def status(self) -> Status:
        record = self._record()
        if record is not None and owns(record):
            if record.port != self.port:  # started with other settings; this probe would ask the wrong port
                return Status(self.name, f"running on port {record.port}", record.port, record.version, record.pid)
            state = "running" if self.probe()(2.0) else "not answering"
            return Status(self.name, state, record.port, record.version, record.pid)
        if port_open(HOST, self.port) and self.probe()(2.0):
            return Status(self.name, "running (external)", self.port, self.external_version(), None)
        return Status(self.name, "stopped", self.port, self.version, None)


def launch(service: Service, argv: list[str], markers: list[str], output: Path, logs: list[Path],
           env: dict[str, str] | None = None) -> ProcRecord:
    """Spawn a foreground server, wait for ``ready_probe``, and kill it again if it never gets ready."""
    proc = spawn(argv, output, env=env, cwd=service.dir)
    try:
        waited = wait_ready(service.name, service.ready_probe(), service.ready_deadline_s, logs, proc)
    except BaseException:
        if proc.poll() is None:
            terminate(proc.pid, grace_s=5)
            proc.wait()
        raise
    say(service.name, f"ready after {waited:.1f}s")
    return ProcRecord(pid=proc.pid, starttime=starttime(proc.pid), port=service.port, version=service.version,
                      markers=markers)


def remove_tree(path: Path) -> None:
    """rm -rf that tolerates a missing path."""
    shutil.rmtree(path, ignore_errors=True)

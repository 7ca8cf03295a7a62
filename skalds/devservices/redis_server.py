"""Redis 7 from Debian's ``redis-server`` package, without persistence.

Named redis_server.py, not redis.py, so nothing can mistake it for the redis-py client package.
"""

from __future__ import annotations

import re
import subprocess
import time
from functools import cached_property
from pathlib import Path

from skalds.transport import probes

from .config import HOST
from .console import phase, say
from .errors import ServiceError
from .procs import ProcRecord, is_running, run_logged, starttime, terminate
from .readiness import Probe, redis_probe, wait_ready
from .service import Service
from .tools import require, which


class Redis(Service):
    name = "redis"
    ready_deadline_s = 20.0

    @property
    def port(self) -> int:
        return self.settings.redis_port

    @cached_property
    def version(self) -> str:
        exe = which("redis-server")
        if exe is None:
            return "-"
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
        match = re.search(r"v=(\S+)", out)
        return match.group(1) if match else "?"

    @property
    def log(self) -> Path:
        return self.dir / "redis.log"

    @property
    def pidfile(self) -> Path:
        return self.dir / "redis.pid"

    def probe(self) -> Probe:
        return redis_probe(self.port)

    def external_version(self) -> str:
        return probes.redis_version(HOST, self.port)

    def start(self) -> ProcRecord:
        exe = require(self.name, "redis-server", "redis-server", self.dir / "install.log")
        self.__dict__.pop("version", None)  # it may just have been installed
        self.pidfile.unlink(missing_ok=True)
        argv = [exe, "--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--daemonize", "yes", "--dir", str(self.dir), "--logfile", str(self.log),
                "--pidfile", str(self.pidfile)]
        with phase(self.name, f"starting Redis {self.version} on {HOST}:{self.port}"):
            # with --daemonize yes the command returns once the server has forked
            run_logged(self.name, argv, self.dir / "start.log", what="redis-server")
            pid = self._daemon_pid()
            try:
                waited = wait_ready(self.name, self.probe(), self.ready_deadline_s, [self.log])
            except BaseException:
                terminate(pid, grace_s=5)
                raise
            say(self.name, f"ready after {waited:.1f}s")
        # the daemon renames its process title to "redis-server 127.0.0.1:<port>"
        return ProcRecord(pid=pid, starttime=starttime(pid), port=self.port, version=self.version,
                          markers=["redis-server", f"{HOST}:{self.port}"])

    def _daemon_pid(self) -> int:
        """The forked server's pid, from the pidfile it writes right after daemonizing."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                pid = int(self.pidfile.read_text().strip())
                if is_running(pid):
                    return pid
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise ServiceError(self.name, f"no live pid in {self.pidfile}", self.log)

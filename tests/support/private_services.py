"""A private Kafka, FerretDB and Redis on free ports, for tests that stop, freeze and restart them.

Started and stopped with the project's own `scripts/services` (a private state folder), so the
suite's shared services are never touched. `restart` keeps Kafka's and FerretDB's data, as
`down` + `up` do; Redis has no persistence, so a restarted Redis is empty.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

from support.services import Endpoints
from support.tcp_proxy import free_port

REPO = Path(__file__).resolve().parents[2]
NAMES = ("kafka", "ferretdb", "redis")


class PrivateServices:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.endpoints = Endpoints(kafka_port=free_port(), mongo_port=free_port(), redis_port=free_port())
        self.env = {**os.environ, "SKALDS_KAFKA_PORT": str(self.endpoints.kafka_port),
                    "SKALDS_KAFKA_CONTROLLER_PORT": str(free_port()),
                    "SKALDS_MONGO_PORT": str(self.endpoints.mongo_port),
                    "SKALDS_REDIS_PORT": str(self.endpoints.redis_port), "SKALDS_STATE_DIR": str(state_dir)}

    def _run(self, command: str, *names: str, check: bool = True) -> None:
        result = subprocess.run([str(REPO / "scripts" / "services"), command, *names], env=self.env,
                                capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"services {command} {' '.join(names)} failed:\n{result.stdout}\n{result.stderr}")

    def up(self, *names: str) -> None:
        self._run("up", *names)

    def down(self, *names: str) -> None:
        self._run("down", *names)

    def reset(self) -> None:
        self.resume_all()
        self._run("reset", check=False)

    def restart(self, name: str) -> None:
        """Stop and start one service; Kafka and FerretDB keep their data, Redis comes back empty."""
        self.resume(name)
        self.down(name)
        self.up(name)

    def pid(self, name: str) -> int | None:
        try:
            return int(json.loads((self.state_dir / name / f"{name}.pid.json").read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def pause(self, name: str) -> None:
        """SIGSTOP: the service holds its connections open and answers nothing (a frozen VM, a long GC)."""
        self._signal(name, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self._signal(name, signal.SIGCONT)

    def resume_all(self) -> None:
        for name in NAMES:
            self.resume(name)

    def _signal(self, name: str, signum: int) -> None:
        send_signal(self.pid(name), signum)


def send_signal(pid: int | None, signum: int) -> None:
    """Signal a process that may be gone already."""
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

"""Real Skald processes for tests: started with the test's isolated names, stopped after."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from support.services import Endpoints

REPO = Path(__file__).resolve().parents[2]


class NodeProcess:
    def __init__(self, skald_id: str, process: subprocess.Popen, log_path: Path) -> None:
        self.skald_id = skald_id
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.process.poll() is not None and text not in self.log():
                raise AssertionError(f"node {self.skald_id} exited ({self.process.returncode}) before logging "
                                     f"{text!r}:\n{self.log()[-4000:]}")
            time.sleep(0.05)
        raise AssertionError(f"node {self.skald_id} did not log {text!r} within {timeout}s:\n{self.log()[-4000:]}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """The node logs `Skald <mode> <id> ready` once its consumer owns all its partitions."""
        self.wait_log(f"{self.skald_id} ready", timeout)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


SERVICE_VARIABLES = ("KAFKA_HOST", "KAFKA_PORT", "MONGO_HOST", "DB_NAME", "REDIS_HOST", "REDIS_PORT",
                     "SKALDS_BACKEND")


def embedded_env(env: dict[str, str], path: Path) -> dict[str, str]:
    """No service configured at all, only the embedded file: the zero-service default."""
    return {**{k: v for k, v in env.items() if k not in SERVICE_VARIABLES}, "SKALDS_EMBEDDED_PATH": str(path)}


class NodeFactory:
    def __init__(self, services: Endpoints, names: dict[str, str], workdir: Path,
                 embedded: Path | None = None) -> None:
        self.services = services
        self.names = names
        self.workdir = workdir
        self.embedded = embedded  # a SQLite file: run on the embedded family instead of the services
        self.started: list[NodeProcess] = []

    def env(self, skald_id: str, **overrides: str) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)]),
            "PYTHONUNBUFFERED": "1",
            "SKALD_ID": skald_id,
            "SKALD_MODE": "node",
            "LOG_LEVEL": "DEBUG",
            "LOG_PATH": str(self.workdir / "logs"),
            "KAFKA_HOST": self.services.host,
            "KAFKA_PORT": str(self.services.kafka_port),
            "KAFKA_TOPIC_PREFIX": self.names["topic_prefix"],
            "KAFKA_REPLICATION_FACTOR": "1",
            "MONGO_HOST": self.services.mongo_uri,
            "DB_NAME": self.names["db_name"],
            "REDIS_HOST": self.services.host,
            "REDIS_PORT": str(self.services.redis_port),
            "REDIS_KEY_PREFIX": self.names["redis_prefix"],
            "HEARTBEAT_PERIOD": "0.5",
            "CANCEL_REQUEST_TIMEOUT": "1",
            "CANCEL_GRACE_SECONDS": "2",
            "RECONCILE_PERIOD": "1",
        }
        if self.embedded is not None:
            env = embedded_env(env, self.embedded)
        env.update(overrides)
        return env

    def start(self, skald_id: str | None = None, *, script: Path | None = None, wait: bool = True,
              args: list[str] | None = None, cwd: Path | None = None, **overrides: str) -> NodeProcess:
        skald_id = skald_id or f"node-{uuid.uuid4().hex[:6]}"
        log_path = self.workdir / f"{skald_id}-{len(self.started)}.out"
        command = [sys.executable, str(script or REPO / "tests" / "support" / "run_node.py"), *(args or [])]
        with log_path.open("wb") as out:
            process = subprocess.Popen(command, env=self.env(skald_id, **overrides), stdout=out,
                                       stderr=subprocess.STDOUT, cwd=cwd or self.workdir, start_new_session=True)
        node = NodeProcess(skald_id, process, log_path)
        self.started.append(node)
        if wait:
            node.wait_ready()
        return node

    def signal_all(self) -> None:
        """SIGTERM to every node still running, without waiting: their shutdowns overlap. SIGCONT
        after it: a node a test froze (SIGSTOP) would otherwise sit out the whole wait."""
        for node in self.started:
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
                node.process.send_signal(signal.SIGCONT)

    def stop_all(self) -> None:
        self.signal_all()
        deadline = time.monotonic() + 20
        for node in self.started:
            if node.process.poll() is None:
                try:
                    node.process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(node.process.pid, signal.SIGKILL)
                    node.process.wait(5)
            # a node's workers die with it; make sure nothing of the test outlives it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.process.pid, signal.SIGKILL)

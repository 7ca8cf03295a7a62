"""Real System Controller processes for tests, on the test's isolated names."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support.cluster import wait_for
from support.nodes import REPO, embedded_env
from support.services import Endpoints
from support.tcp_proxy import free_port


class ControllerProcess:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path, token: str | None) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"controller exited ({self.process.returncode}):\n{self.log()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/system/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"controller not ready after {timeout}s:\n{self.log()[-4000:]}")

    def history_with(self, task_id: str, status: str, timeout: float = 5) -> list[dict]:
        """The task's history once it holds `status`: entries are appended just after the status fields."""
        def entries() -> list[dict]:
            return self.http.get(f"/api/tasks/{task_id}/events").json()["events"]

        return wait_for(lambda: (found := entries()) and any(e.get("status") == status for e in found) and found,
                        timeout, f"{status} in {task_id}'s history")

    def signal_stop(self) -> None:
        """SIGTERM without waiting (several controllers, or nodes beside them, stop at the same time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        self.http.close()
        self.signal_stop()
        try:
            self.process.wait(max(0.1, timeout))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class ControllerFactory:
    def __init__(self, services: Endpoints, names: dict[str, str], workdir: Path,
                 embedded: Path | None = None) -> None:
        self.services = services
        self.names = names
        self.workdir = workdir
        self.embedded = embedded  # a SQLite file: run on the embedded family instead of the services
        self.started: list[ControllerProcess] = []

    def start(self, *, token: str | None = None, wait: bool = True, **overrides: str) -> ControllerProcess:
        port = int(overrides.pop("SYSTEM_CONTROLLER_PORT", 0)) or free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "SYSTEM_CONTROLLER_MODE": "DISPATCHER",
            "SYSTEM_CONTROLLER_HOST": "127.0.0.1",
            "SYSTEM_CONTROLLER_PORT": str(port),
            "LOG_LEVEL": "DEBUG",
            "KAFKA_HOST": self.services.host,
            "KAFKA_PORT": str(self.services.kafka_port),
            "KAFKA_TOPIC_PREFIX": self.names["topic_prefix"],
            "MONGO_HOST": self.services.mongo_uri,
            "DB_NAME": self.names["db_name"],
            "REDIS_HOST": self.services.host,
            "REDIS_PORT": str(self.services.redis_port),
            "REDIS_KEY_PREFIX": self.names["redis_prefix"],
            "MONITOR_HEARTBEAT_TIMEOUT": "3",
            "MONITOR_TASK_INTERVAL": "0.5",
            "DISPATCHER_INTERVAL": "30",  # wake-ups, not the sweep, must drive assignment in tests
            "ASSIGN_TIMEOUT": "8",
            "LEADER_LEASE_SECONDS": "3",
            "RETRY_BACKOFF_SECONDS": "0.5",
            **overrides,
        }
        if self.embedded is not None:
            env = embedded_env(env, self.embedded)
            env.update(overrides)
        if token:
            env["API_ADMIN_TOKENS"] = token
        log_path = self.workdir / f"controller-{len(self.started)}.out"
        with log_path.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "skalds.system_controller.main"], env=env, stdout=out,
                                       stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        controller = ControllerProcess(process, port, log_path, token)
        self.started.append(controller)
        if wait:
            controller.wait_ready()
        return controller

    def signal_all(self) -> None:
        for controller in self.started:
            controller.signal_stop()

    def stop_all(self) -> None:
        self.signal_all()
        deadline = time.monotonic() + 20
        for controller in self.started:
            controller.stop(deadline - time.monotonic())

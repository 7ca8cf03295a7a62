"""The fault suite's user: creates, updates, pauses, resumes and cancels tasks through the API, and
remembers every command the API accepted (a 2xx answer), to check later that each took effect."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Command:
    at: float  # time.time() when accepted
    task_id: str
    action: str  # create, update, pause, resume, cancel
    status_code: int
    sent: dict[str, Any] = field(default_factory=dict)


class Driver:
    def __init__(self, urls: list[str], record_to: str, tasks: int, seed: int, period: float = 0.5) -> None:
        self.clients = [httpx.Client(base_url=url, timeout=5) for url in urls]
        self.record_to = record_to
        self.tasks = tasks
        self.rng = random.Random(seed + 1)
        self.period = period
        self.accepted: list[Command] = []
        self.refused: dict[str, int] = {}
        self.created: list[str] = []
        self._cancelled: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chaos-driver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        for client in self.clients:
            client.close()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self._step()
            except Exception as error:  # the user keeps going whatever one request did: count it, go on
                name = f"driver {type(error).__name__}"
                self.refused[name] = self.refused.get(name, 0) + 1

    def _step(self) -> None:
        """Keep `tasks` live tasks (a cancelled one is replaced by a new one), and act on a random one."""
        live = [task_id for task_id in self.created if task_id not in self._cancelled]
        if len(live) < self.tasks:
            self._create(f"chaos-{len(self.created):03d}")
        elif live:
            self._act(self.rng.choice(live), self.rng.choices(("update", "pause", "resume", "cancel"), (5, 2, 2, 1))[0])

    def _call(self, task_id: str, action: str, method: str, path: str, json: dict[str, Any] | None = None) -> bool:
        client = self.rng.choice(self.clients)
        try:
            response = client.request(method, path, json=json)
        except httpx.HTTPError as error:
            self.refused[type(error).__name__] = self.refused.get(type(error).__name__, 0) + 1
            return False
        if 200 <= response.status_code < 300:
            self.accepted.append(Command(time.time(), task_id, action, response.status_code, json or {}))
            return True
        self.refused[str(response.status_code)] = self.refused.get(str(response.status_code), 0) + 1
        return False

    def _create(self, task_id: str) -> None:
        body = {"id": task_id, "className": "TickWorker", "waitForClass": True,  # nodes come and go here
                "attachments": {"recordTo": self.record_to, "label": "v0", "checkpointEvery": 4}}
        if self._call(task_id, "create", "POST", "/api/tasks", body):
            self.created.append(task_id)
        elif any(self._exists(client, task_id) for client in self.clients[:1]):
            self.created.append(task_id)  # stored, though the answer was lost

    @staticmethod
    def _exists(client: httpx.Client, task_id: str) -> bool:
        try:
            return client.get(f"/api/tasks/{task_id}").status_code == 200
        except httpx.HTTPError:
            return False

    def _act(self, task_id: str, action: str) -> None:
        if action == "update":
            label = f"v{self.rng.randrange(1_000_000)}"
            self._call(task_id, action, "PUT", f"/api/tasks/{task_id}/attachments",
                       {"attachments": {"recordTo": self.record_to, "label": label, "checkpointEvery": 4}})
        elif self._call(task_id, action, "POST", f"/api/tasks/{task_id}/{action}") and action == "cancel":
            self._cancelled.add(task_id)

    def last_command(self, task_id: str, actions: tuple[str, ...]) -> Command | None:
        found = [command for command in self.accepted if command.task_id == task_id and command.action in actions]
        return found[-1] if found else None

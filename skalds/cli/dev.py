"""`skalds dev`: a controller (API, dashboard, monitor, dispatcher) and N nodes on this machine.

Each runs as its own child process (`python -m skalds controller|node`), on the backend the
configuration selects: with no service host configured, the embedded store shared through one
file; with KAFKA_HOST / MONGO_HOST / REDIS_HOST set, the real services. Until the system is up the
children's output is held back (`--verbose` shows it); their log files are in the data folder.
Ctrl-C stops everything.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from skalds.cli.children import Child, start_child, stop_children
from skalds.cli.dev_setup import DEFAULT_PORT, api_token, banner, child_env, log_folder, node_name, port_free
from skalds.cli.errors import EXIT_ERROR, CliError
from skalds.cli.workers import DEMO_WORKER, load_workers, split_references
from skalds.utils.signal_relay import SignalRelay

console = Console(highlight=False, stderr=True, soft_wrap=True)  # a command in the banner must not wrap
DEMO_TASKS = 3
START_TIMEOUT = 120.0


class DevSystem:
    """Starts, watches and stops the children; `run` returns the exit code of `skalds dev`."""

    def __init__(self, workers: list[str], nodes: int, host: str, port: int, grace: float, verbose: bool) -> None:
        self.workers, self.nodes, self.host, self.port, self.grace = workers, nodes, host, port, grace
        self.verbose = verbose
        self.url = f"http://{host}:{port}"
        self.logs: Path | None = self._log_folder()
        self.children: list[Child] = []
        self.stop = threading.Event()
        self.signal_name = ""

    @staticmethod
    def _log_folder() -> Path | None:
        """The children's log folder, made now: one that cannot be made must not hide the real problem
        (e.g. an unwritable SKALDS_EMBEDDED_PATH, which the controller explains), so the logs then stay
        in the terminal."""
        logs = log_folder()
        if logs is not None:
            try:
                logs.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                console.print(f"[yellow]cannot make the log folder {logs} ({error.strerror}); logging to this "
                              "terminal only (set LOG_PATH to choose another folder)[/]")
                return None
        return logs

    def _on_signal(self, signum: int) -> None:
        """On the signal relay's thread (`utils/signal_relay`): the main loop may hold the lock of `stop`."""
        self.signal_name = signal.Signals(signum).name
        self.stop.set()

    def _kill_everything(self) -> None:
        """A second signal: the children's process groups get SIGKILL (system calls only, from the handler)."""
        for child in self.children:
            child.signal_group(signal.SIGKILL)

    def _first_exited(self) -> Child | None:
        return next((child for child in self.children if not child.running()), None)

    def _wait_until(self, check: Any, timeout: float) -> bool:
        """Poll `check` until true; False on timeout, on a stop request, or when a child died."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set() and self._first_exited() is None:
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                if check():
                    return True
            self.stop.wait(0.2)
        return False

    def _start_child(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.children.append(start_child(name, [sys.executable, "-m", "skalds", *args], env, hold=not self.verbose))

    def start(self) -> bool:
        """True once the controller answers and every node is online."""
        import httpx

        env = child_env(self.logs)
        node_ids = sorted(node_name(self.port, index) for index in range(1, self.nodes + 1))
        console.print(f"starting a controller on {self.url} and {self.nodes} node(s): {', '.join(node_ids)}"
                      + ("" if self.verbose else " (--verbose shows their output)"))
        self._start_child("controller", ["controller", "--system-controller-host", self.host,
                                         "--system-controller-port", str(self.port)], env)
        headers = {"Authorization": f"Bearer {token}"} if (token := api_token()) else {}
        http = httpx.Client(base_url=self.url, headers=headers, timeout=2)
        try:
            if not self._wait_until(lambda: http.get("/api/system/health").status_code == 200, START_TIMEOUT):
                return False
            worker_flags = [flag for reference in self.workers for flag in ("--worker", reference)]
            # Ctrl-C stops every node at once: a node draining itself would have nowhere to move its tasks.
            node_env = {"SHUTDOWN_DRAIN_SECONDS": "0", **env}
            for node_id in node_ids:
                self._start_child(f"node {node_id}", ["node", "--skald-id", node_id, *worker_flags], node_env)

            def all_online() -> bool:
                items = http.get("/api/skalds", params={"status": "online"}).json()["items"]
                return set(node_ids) <= {item["id"] for item in items}

            if not self._wait_until(all_online, START_TIMEOUT):
                return False
            if self.workers == [DEMO_WORKER]:
                self._seed_demo_tasks(http)
            return True
        finally:
            http.close()

    def _seed_demo_tasks(self, http: Any) -> None:
        """A fresh install shows tasks running: on an empty store, the demo system creates three demo tasks."""
        try:
            if http.get("/api/tasks", params={"pageSize": 1}).json()["total"] != 0:
                return
            for index in range(1, DEMO_TASKS + 1):
                http.post("/api/tasks", json={"id": f"demo-{index}", "className": "DemoWorker",
                                              "name": f"demo task {index}",
                                              "attachments": {"message": f"demo task {index} says hello",
                                                              "steps": 30 * index}})
        except Exception as error:  # a convenience: never a reason to stop the system
            console.print(f"[yellow]could not create the demo tasks: {error}[/]")
            return
        console.print(f"created {DEMO_TASKS} demo tasks (demo-1 .. demo-{DEMO_TASKS}) in the empty task store")

    def _started(self, up: bool) -> None:
        """The banner once up; else the held output of whoever failed (or of all, on a time-out)."""
        if up:
            for child in self.children:
                child.output.release()
            classes = [reference.rpartition(":")[2] for reference in self.workers]
            console.print(banner(self.url, self.nodes, classes, self.logs))
            return
        dead = self._first_exited()
        if dead is not None:
            dead.output.join(2)
        elif not self.stop.is_set():
            console.print(f"[yellow]the system is not up after {START_TIMEOUT:.0f}s; the children's output:[/]")
        for child in [dead] if dead is not None else self.children:
            child.output.show_held()
        for child in self.children:
            child.output.release()

    def _stop_all(self) -> None:
        if self.signal_name:
            console.print(f"\n{self.signal_name}: stopping the nodes, then the controller...")
        nodes = [child for child in self.children if child.name != "controller"]
        codes = stop_children(nodes, self.grace)
        codes.update(stop_children([c for c in self.children if c.name == "controller"], self.grace))
        for child in self.children:
            child.output.join(2)
        console.print("stopped: " + ", ".join(f"{name} ({code})" for name, code in codes.items()))

    def run(self) -> int:
        SignalRelay(self._on_signal, last_words=self._kill_everything).install()
        exit_code = 0
        try:
            self._started(self.start())
            while not self.stop.is_set():
                dead = self._first_exited()
                if dead is not None:
                    console.print(f"[bold red]error:[/] the {dead.name} exited with code "
                                  f"{dead.process.returncode}; stopping the rest (its output is above)")
                    exit_code = EXIT_ERROR
                    break
                self.stop.wait(0.5)
        finally:
            self._stop_all()
        return exit_code


def dev(
    workers: Annotated[list[str] | None, typer.Option(
        "--workers", "--worker", "-w", show_default=False,
        help=f"TaskWorker classes as module:Class (repeatable). Default: the built-in {DEMO_WORKER}.")] = None,
    nodes: Annotated[int, typer.Option("--nodes", "-n", min=1, max=32, help="How many nodes to start.")] = 1,
    port: Annotated[int, typer.Option("--port", "-p", envvar="SYSTEM_CONTROLLER_PORT", min=1, max=65535,
                                      help="Controller port (env SYSTEM_CONTROLLER_PORT).")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option("--host", help="Controller address; loopback unless you set tokens.")]
    = "127.0.0.1",
    grace: Annotated[float, typer.Option("--grace", min=0, help="Seconds each child gets to stop before SIGKILL.")]
    = 20.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=(
        "Show the children's output from the start, their configuration included (else from the banner on)."))]
    = False,
) -> None:
    """Run the whole system on this machine: a controller with its dashboard and N nodes. Ctrl-C stops it."""
    references = split_references(workers) or [DEMO_WORKER]
    load_workers(references)  # a typo fails here, before anything starts
    if not port_free(host, port):
        raise CliError(f"port {port} on {host} is already in use (another `skalds dev` or controller?)",
                       f"stop it, or pass --port {port + 1}")
    raise typer.Exit(DevSystem(references, nodes, host, port, grace, verbose).run())

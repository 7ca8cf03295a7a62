"""`skalds dev`: a controller (API, dashboard, monitor, dispatcher) and N nodes on this machine.

Each runs as its own child process (`python -m skalds controller|node`), on the backend the
configuration selects: with no service host configured, the embedded store shared through one
file; with KAFKA_HOST / MONGO_HOST / REDIS_HOST set, the real services. Ctrl-C stops everything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from typing import Annotated, Any

import typer
from rich.console import Console

from skalds.cli.children import Child, start_child, stop_children
from skalds.cli.errors import CliError
from skalds.cli.workers import DEMO_WORKER, load_workers, split_references

console = Console(highlight=False, stderr=True)
DEFAULT_PORT = 8000
DEMO_TASKS = 3


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _api_token() -> str | None:
    tokens = os.environ.get("SKALDS_TOKEN") or os.environ.get("API_ADMIN_TOKENS") or os.environ.get(
        "API_READ_TOKENS") or ""
    return tokens.split(",")[0].strip() or None


def _child_env() -> dict[str, str]:
    """The user's environment, plus the current directory on the import path (their worker modules)."""
    env = dict(os.environ)
    path = [os.getcwd(), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def node_name(port: int, index: int) -> str:
    """Stable ids (a restarted `skalds dev` resumes its nodes' tasks), distinct per port: two `skalds dev` on
    one embedded file must not share a node id (they would share its consumer group and its keys)."""
    return f"dev-node-{index}" if port == DEFAULT_PORT else f"dev{port}-node-{index}"


def _backend_line() -> str:
    """Which transport the children chose (they read the same environment)."""
    try:
        from skalds.config.system_controller_config import SystemControllerConfig
        from skalds.transport.factory import describe

        return describe(SystemControllerConfig())
    except Exception as error:  # the banner must never stop a running system
        return f"unknown ({error})"


class DevSystem:
    """Starts, watches and stops the children; `run` returns the exit code of `skalds dev`."""

    def __init__(self, workers: list[str], nodes: int, host: str, port: int, grace: float) -> None:
        self.workers, self.nodes, self.host, self.port, self.grace = workers, nodes, host, port, grace
        self.url = f"http://{host}:{port}"
        self.children: list[Child] = []
        self.stop = threading.Event()
        self.signal_name = ""

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.stop.is_set():
            console.print("[yellow]second signal: killing everything now[/]")
            for child in self.children:
                child.signal_group(signal.SIGKILL)
            os._exit(130)
        self.signal_name = signal.Signals(signum).name
        self.stop.set()

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

    def start(self) -> None:
        import httpx

        env = _child_env()
        python = [sys.executable, "-m", "skalds"]
        self.children.append(start_child("controller", [
            *python, "controller", "--system-controller-host", self.host,
            "--system-controller-port", str(self.port)], env))
        headers = {"Authorization": f"Bearer {token}"} if (token := _api_token()) else {}
        http = httpx.Client(base_url=self.url, headers=headers, timeout=2)
        try:
            if not self._wait_until(lambda: http.get("/api/system/health").status_code == 200, 120):
                return
            worker_flags = [flag for reference in self.workers for flag in ("--worker", reference)]
            node_ids = {node_name(self.port, index) for index in range(1, self.nodes + 1)}
            for node_id in sorted(node_ids):
                self.children.append(start_child(f"node {node_id}", [
                    *python, "node", "--skald-id", node_id, *worker_flags], env))

            def all_online() -> bool:
                items = http.get("/api/skalds", params={"status": "online"}).json()["items"]
                return node_ids <= {item["id"] for item in items}

            online = self._wait_until(all_online, 120)
            if online and self.workers == [DEMO_WORKER]:
                self._seed_demo_tasks(http)
        finally:
            http.close()
        if online:
            self._banner()

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

    def _banner(self) -> None:
        classes = ", ".join(reference.rpartition(":")[2] for reference in self.workers)
        backend = _backend_line()
        console.print(f"\n[bold green]Skalds is running[/]: controller + {self.nodes} node(s) running {classes}\n"
                      f"  Dashboard: [bold]{self.url}/dashboard[/]\n"
                      f"  API docs:  {self.url}/api/docs\n"
                      f"  Backend:   {backend}\n"
                      f"  Try:       skalds task create {classes.split(', ')[0]} --attachments '{{}}'\n"
                      "  Ctrl-C stops everything.\n")

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        exit_code = 0
        try:
            self.start()
            while not self.stop.is_set():
                dead = self._first_exited()
                if dead is not None:
                    console.print(f"[bold red]error:[/] the {dead.name} exited with code "
                                  f"{dead.process.returncode}; stopping the rest (its log is above)")
                    exit_code = 1
                    break
                self.stop.wait(0.5)
        finally:
            if self.signal_name:
                console.print(f"\n{self.signal_name}: stopping the nodes, then the controller...")
            nodes = [child for child in self.children if child.name != "controller"]
            codes = stop_children(nodes, self.grace)
            codes.update(stop_children([c for c in self.children if c.name == "controller"], self.grace))
            console.print("stopped: " + ", ".join(f"{name} ({code})" for name, code in codes.items()))
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
) -> None:
    """Run the whole system on this machine: a controller with its dashboard and N nodes. Ctrl-C stops it."""
    references = split_references(workers) or [DEMO_WORKER]
    load_workers(references)  # a typo fails here, before anything starts
    if not _port_free(host, port):
        raise CliError(f"port {port} on {host} is already in use (another `skalds dev` or controller?)",
                       f"stop it, or pass --port {port + 1}")
    raise typer.Exit(DevSystem(references, nodes, host, port, grace).run())

"""Seeded faults for the fault-injection suite: what breaks, when, for how long.

A plan is a pure function of its seed, so a failing run is repeated by passing the seed it printed.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from support.private_services import PrivateServices
from support.private_services import send_signal as _signal
from support.tcp_proxy import TcpProxy

KINDS = ("node_kill", "node_freeze", "link_cut", "node_drain", "kafka_freeze", "redis_freeze", "mongo_freeze",
         "kafka_restart", "redis_restart", "mongo_restart")
SERVICE_OF = {"kafka": "kafka", "redis": "redis", "mongo": "ferretdb"}


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the start of the run
    kind: str
    target: str  # a node id, or a service
    seconds: float  # how long it lasts (a kill: how long the node stays down)

    def describe(self) -> str:
        return f"{self.at:6.1f}s {self.kind:<13} {self.target:<10} for {self.seconds:.1f}s"


def plan(seed: int, duration: float, nodes: list[str]) -> list[Fault]:
    """A fault every 8-20 s, each lasting 2-20 s, never two at once (a run can still be judged)."""
    rng = random.Random(seed)
    faults, at = [], rng.uniform(5, 10)
    while at < duration - 5:
        kind = rng.choice(KINDS)
        target = rng.choice(nodes) if kind.startswith(("node", "link")) else kind.split("_")[0]
        seconds = round(rng.uniform(2, 20), 1)
        faults.append(Fault(round(at, 1), kind, target, seconds))
        at += seconds + rng.uniform(8, 20)
    return faults


@dataclass
class NodeHandle:
    """What the injector needs of a node: its process, how to start it again, its service links."""

    skald_id: str
    pid: Callable[[], int | None]
    restart: Callable[[], None]
    links: list[TcpProxy] = field(default_factory=list)


class Injector:
    """Runs a plan on its own thread; `log` says what was done when."""

    def __init__(self, services: PrivateServices, nodes: dict[str, NodeHandle], urls: list[str]) -> None:
        self.services = services
        self.nodes = nodes
        self.urls = urls  # the controllers, for drains
        self.log: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, faults: list[Fault]) -> None:
        self._thread = threading.Thread(target=self._run, args=(faults,), name="chaos-injector", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _run(self, faults: list[Fault]) -> None:
        started = time.monotonic()
        for fault in faults:
            if self._stop.wait(max(0.0, started + fault.at - time.monotonic())):
                return
            self.log.append(f"{time.monotonic() - started:6.1f}s start {fault.describe()}")
            heal = self._apply(fault)
            self._stop.wait(fault.seconds)
            heal()
            self.log.append(f"{time.monotonic() - started:6.1f}s healed {fault.kind} {fault.target}")

    def _apply(self, fault: Fault) -> Callable[[], None]:
        kind, target = fault.kind, fault.target
        if kind == "node_kill":
            _signal(self.nodes[target].pid(), signal.SIGKILL)
            return self.nodes[target].restart
        if kind == "node_freeze":
            pid = self.nodes[target].pid()
            _signal(pid, signal.SIGSTOP)
            return lambda: _signal(pid, signal.SIGCONT)
        if kind == "node_drain":  # moved off (checkpointing), then back in service when the fault ends
            self._node_action(target, "drain", {"deadlineSeconds": max(5.0, fault.seconds)})
            return lambda: self._node_action(target, "uncordon", {})
        if kind == "link_cut":
            for link in self.nodes[target].links:
                link.stop()
            return lambda: [link.start() for link in self.nodes[target].links] and None
        service = SERVICE_OF[target]
        if kind.endswith("_freeze"):
            self.services.pause(service)
            return lambda: self.services.resume(service)
        self.services.down(service)  # a restart: down for the fault's length, then up with its data
        return lambda: self.services.up(service)

    def _node_action(self, skald_id: str, action: str, body: dict[str, float]) -> None:
        """What an operator does: ask whichever controller answers; the log says if none took it."""
        for url in self.urls:
            try:
                if httpx.post(f"{url}/api/skalds/{skald_id}/{action}", json=body, timeout=5).status_code < 300:
                    return
            except httpx.HTTPError:
                continue
        self.log.append(f"no controller took {action} of {skald_id}")

"""One fault-injection run: private services, 2 controllers, 3 nodes and an edge node, a user, seeded faults
(drains among them), a verdict. Every worker saves its count as a checkpoint each second.

Used by `tests/chaos/test_faults.py` (3 minutes, in CI) and `bench/chaos_bench.py` (30 minutes).
Nodes reach Redis and MongoDB through their own TCP proxies, so a node's links can be cut alone;
Kafka advertises its own address to clients, so its faults are the broker's (frozen, restarted).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from support.chaos_check import Sampler, Ticks, verdict
from support.chaos_driver import Driver
from support.chaos_faults import Fault, Injector, NodeHandle, plan
from support.controller import ControllerFactory
from support.nodes import NodeFactory, NodeProcess
from support.private_services import PrivateServices
from support.tcp_proxy import TcpProxy

TICK = 0.25
NODES = ["chaos-a", "chaos-b", "chaos-c"]
EDGE = "chaos-edge"  # runs its YAML file's tasks, never moved: a cut link must not stop them
EDGE_TASKS = ("chaos-edge-0", "chaos-edge-1")
NODE_SETTINGS = {"HEARTBEAT_PERIOD": "1", "RECONCILE_PERIOD": "2", "LOG_LEVEL": "INFO",
                 "CANCEL_REQUEST_TIMEOUT": "1", "CANCEL_GRACE_SECONDS": "3"}
CONTROLLER_SETTINGS = {"MONITOR_HEARTBEAT_TIMEOUT": "6", "MONITOR_TASK_INTERVAL": "1", "DISPATCHER_INTERVAL": "5",
                       "ASSIGN_TIMEOUT": "15", "LEADER_LEASE_SECONDS": "6", "LOG_LEVEL": "INFO"}


@dataclass
class ChaosReport:
    seed: int
    seconds: float
    faults: list[Fault]
    injected: list[str]
    accepted: int
    refused: dict[str, int]
    samples: int
    unsampled: int
    invariants: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not any(self.invariants.values())

    def table(self) -> str:
        rows = [f"| seed | {self.seed} |", f"| duration (s) | {self.seconds:.0f} |",
                f"| faults injected | {len(self.faults)} ({', '.join(sorted({f.kind for f in self.faults}))}) |",
                f"| commands accepted / refused | {self.accepted} / {sum(self.refused.values())} {self.refused} |",
                f"| status samples (store unreachable) | {self.samples} ({self.unsampled}) |"]
        rows += [f"| {name} | {len(found)} {'; '.join(found[:5])} |" for name, found in self.invariants.items()]
        return "\n".join(["| check | result |", "|---|---|", *rows])


class ChaosCluster:
    def __init__(self, workdir: Path, seed: int) -> None:
        self.workdir = workdir
        self.services = PrivateServices(workdir / "services")
        token = uuid.uuid4().hex[:8]
        self.names = {"token": token, "topic_prefix": f"c{token}.", "db_name": f"chaos_{token}",
                      "redis_prefix": f"c{token}:"}
        self.records = workdir / "ticks.jsonl"
        self.seed = seed
        self.nodes: dict[str, NodeProcess] = {}
        self.links: dict[str, list[TcpProxy]] = {}
        self.node_factory = NodeFactory(self.services.endpoints, self.names, workdir)
        self.controller_factory = ControllerFactory(self.services.endpoints, self.names, workdir)

    def start(self, node_ids: list[str]) -> list[str]:
        self.services.up()
        endpoints = self.services.endpoints
        urls = [self.controller_factory.start(**CONTROLLER_SETTINGS).url for _ in range(2)]
        for skald_id in node_ids:
            self.links[skald_id] = [TcpProxy(endpoints.redis_port).start(), TcpProxy(endpoints.mongo_port).start()]
            self._start_node(skald_id, wait=True)
        return urls

    def _start_node(self, skald_id: str, wait: bool = False) -> None:
        redis, mongo = self.links[skald_id]
        mode = {"SKALD_MODE": "edge", "YAML_FILE": str(self._edge_file())} if skald_id == EDGE else {}
        self.nodes[skald_id] = self.node_factory.start(
            skald_id, wait=wait, REDIS_PORT=str(redis.port), MONGO_HOST=f"mongodb://root:root@localhost:{mongo.port}/",
            **NODE_SETTINGS, **mode)

    def _edge_file(self) -> Path:
        path = self.workdir / "edge.yaml"
        path.write_text("TaskWorkers:\n" + "".join(
            f"  {task_id}:\n    className: TickWorker\n    attachments:\n      recordTo: {self.records}\n"
            "      label: edge\n      checkpointEvery: 4\n" for task_id in EDGE_TASKS))
        return path

    def handles(self) -> dict[str, NodeHandle]:
        return {skald_id: NodeHandle(skald_id, pid=lambda s=skald_id: self.nodes[s].process.pid,
                                     restart=lambda s=skald_id: self._start_node(s), links=self.links[skald_id])
                for skald_id in self.nodes}

    def heal(self) -> None:
        """Whatever a fault left broken (the injector heals each fault, this is the safety net)."""
        self.services.resume_all()
        self.services.up()
        for skald_id, node in list(self.nodes.items()):
            if node.process.poll() is not None:
                self._start_node(skald_id)

    def stop(self) -> None:
        self.node_factory.stop_all()
        self.controller_factory.stop_all()
        for links in self.links.values():
            for link in links:
                link.stop()
        self.services.reset()


def read_tasks(urls: list[str]) -> list[dict[str, Any]]:
    """What the API shows (every page), from whichever controller answers."""
    for url in urls:
        try:
            return _all_pages(url)
        except (httpx.HTTPError, ConnectionError):
            continue
    raise ConnectionError("no controller answered")


def _all_pages(url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = httpx.get(f"{url}/api/tasks", params={"pageSize": 100, "page": page}, timeout=3)
        if response.status_code != 200:
            raise ConnectionError(f"{url} answered {response.status_code}")
        body = response.json()
        items += body["items"]
        if page * 100 >= body["total"]:
            return items
        page += 1


def run_chaos(workdir: Path, seed: int, seconds: float, tasks: int = 30, bound: float = 15.0,
              settle: float = 40.0) -> ChaosReport:
    cluster = ChaosCluster(workdir, seed)
    faults = plan(seed, seconds, [*NODES, EDGE])
    try:
        urls = cluster.start([*NODES, EDGE])
        driver = Driver(urls, str(cluster.records), tasks, seed)
        ticks = Ticks(cluster.records)
        sampler = Sampler(ticks, lambda: read_tasks(urls), TICK)
        injector = Injector(cluster.services, cluster.handles(), urls)
        started = time.monotonic()
        driver.start()
        sampler.start()
        injector.run(faults)
        injector.join()
        time.sleep(max(0.0, started + seconds - time.monotonic()))
        driver.stop()
        cluster.heal()
        time.sleep(settle)  # the promise: everything converges within the bound once the faults end
        sampler.stop()
        final = {task["id"]: task for task in _retrying(lambda: read_tasks(urls))}
        report = ChaosReport(seed, time.monotonic() - started, faults, injector.log, len(driver.accepted),
                             driver.refused, sampler.samples, sampler.failed_samples)
        report.invariants = verdict(driver, final, ticks, sampler, TICK, bound, edge=dict.fromkeys(EDGE_TASKS, EDGE))
        return report
    finally:
        cluster.stop()


def _retrying(read: Any, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return read()
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)

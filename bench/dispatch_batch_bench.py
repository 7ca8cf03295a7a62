#!/usr/bin/env python
"""The dispatcher's assignment path alone, one task at a time against batched, on the real services and on the
embedded file: N Created tasks in a fresh store, the dispatcher's pass (`Dispatcher.dispatch_once`, 100 nodes that
registered the class, events published for real) until all are assigned, no nodes consuming.

    .venv/bin/python bench/dispatch_batch_bench.py [--tasks 2000] [--nodes 100] [--only services|embedded]

`--single` times the path before batched dispatch (`TaskService.assign` per task: one findAndModify, one history
insert and one produce each) in the same run, for comparison.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_services import Endpoints

from skalds.config.skald_config import SkaldConfig
from skalds.system_controller.dispatcher import Dispatcher
from skalds.system_controller.listeners import DispatchInbox
from skalds.system_controller.metrics import ControllerMetrics
from skalds.system_controller.nodes import NodeRecord
from skalds.system_controller.policy import placement
from skalds.system_controller.task_service import TaskService
from skalds.tasks import queries
from skalds.transport import factory


class View:
    def __init__(self, nodes: int) -> None:
        self._nodes = {f"n{i:03d}": NodeRecord(id=f"n{i:03d}", online=True, supported_tasks=["W"])
                       for i in range(nodes)}

    def nodes(self) -> dict[str, NodeRecord]:
        return self._nodes

    def active_tasks(self) -> dict[str, dict[str, Any]]:
        return {}


def fill(store: Any, tasks: int) -> None:
    for index in range(tasks):
        store.insert({"id": f"t{index:05d}", "className": "W", "mode": "Passive", "lifecycleStatus": "Created",
                      "priority": index % 11, "createDateTime": index, "updateDateTime": index, "attempt": 0,
                      "attachments": {"seconds": 3600}})


def one_by_one(service: TaskService, view: View, tasks: int) -> int:
    """The pass as it was: each waiting task assigned alone, one flush per pass."""
    assigned, nodes = 0, placement.eligible_nodes(view.nodes().values())
    loads: dict[str, int] = {}
    state = placement.RotationState()
    while assigned < tasks:
        for document in queries.waiting(service.store, 500):
            node = placement.least_tasks(placement.capable_nodes(nodes, "W", loads, 0), loads, state)
            if service.assign(document, node.id, flush=False) is not None:
                loads[node.id] = loads.get(node.id, 0) + 1
                assigned += 1
        service.flush_events()
    return assigned


def run(config: SkaldConfig, tasks: int, nodes: int, single: bool) -> dict[str, float]:
    rates: dict[str, float] = {}
    for mode in (["single"] if single else []) + ["batched"]:
        run_config = config.model_copy(update={"db_name": f"dbb_{uuid.uuid4().hex[:6]}", "skalds_embedded_path":
                                               str(Path(tempfile.mkdtemp(prefix="dbb-")) / "skalds.db")})
        store, publisher = factory.build_store(run_config), factory.build_publisher(run_config)
        store.ensure_indexes()
        factory.prepare_topics(run_config, [factory.topic_name(run_config, "task.assign")])
        fill(store, tasks)
        inbox = DispatchInbox()
        service = TaskService(store, publisher, run_config.kafka_topic_prefix, listener=inbox)
        view = View(nodes)
        began = time.perf_counter()
        if mode == "single":
            done = one_by_one(service, view, tasks)
        else:
            dispatcher = Dispatcher(service, view, inbox, ControllerMetrics(), strategy="LEAST_TASKS",
                                    default_capacity=0, retry_backoff_seconds=1.0)
            done = 0
            while done < tasks:
                done += dispatcher.dispatch_once()
        rates[mode] = done / (time.perf_counter() - began)
        client = getattr(store, "client", None)
        if client is not None:
            client.drop_database(run_config.db_name)
        publisher.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--only", choices=["services", "embedded"])
    parser.add_argument("--single", action="store_true", help="also time the one-task-at-a-time path")
    options = parser.parse_args()
    endpoints = Endpoints.from_env()
    prefix = f"dbb-{uuid.uuid4().hex[:6]}-"
    families = {
        "services": SkaldConfig(kafka_host=endpoints.host, kafka_port=endpoints.kafka_port, kafka_topic_prefix=prefix,
                                kafka_topic_partitions=1, mongo_host=endpoints.mongo_uri),
        "embedded": SkaldConfig(skalds_backend="embedded", kafka_topic_prefix=prefix),
    }
    print("| store | tasks / nodes | one at a time (assignments/s) | batched (assignments/s) |\n|---|---|---|---|")
    for name, config in families.items():
        if options.only in (None, name):
            rates = run(config, options.tasks, options.nodes, options.single)
            print(f"| {name} | {options.tasks:,} / {options.nodes} | {rates.get('single', float('nan')):.1f} | "
                  f"{rates['batched']:.1f} |", flush=True)


if __name__ == "__main__":
    main()

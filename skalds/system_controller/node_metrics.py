"""Prometheus gauges per node: running tasks, CPU, memory and log lines dropped (from each node's registration).

Labelled by node id; a node that left the registry has its series removed, so the label set stays
as small as the set of registered nodes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from skalds.transport.node_registry import NodeRecord


class NodeGauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.running = Gauge("skalds_node_running_tasks", "Tasks a node runs", ["node"], registry=registry)
        self.cpu = Gauge("skalds_node_cpu_percent", "CPU of a node and its workers, percent of one core",
                         ["node"], registry=registry)
        self.rss = Gauge("skalds_node_rss_bytes", "Resident memory of a node and its workers", ["node"],
                         registry=registry)
        self.available = Gauge("skalds_node_memory_available_bytes", "Memory available on a node's machine",
                               ["node"], registry=registry)
        self.log_drops = Gauge("skalds_node_log_lines_dropped", "Workers' log lines a node dropped since it "
                               "started (over the rate limit, or its queue full)", ["node"], registry=registry)
        self._seen: set[str] = set()

    def observe(self, nodes: dict[str, NodeRecord]) -> None:
        for node_id in self._seen - set(nodes):
            for gauge in (self.running, self.cpu, self.rss, self.available, self.log_drops):
                try:
                    gauge.remove(node_id)
                except KeyError:
                    continue
        for node_id, node in nodes.items():
            self.running.labels(node_id).set(len(node.current_tasks))
            self.log_drops.labels(node_id).set(node.log_lines_dropped)
            if node.resources is not None:
                self.cpu.labels(node_id).set(node.resources["cpuPercent"])
                self.rss.labels(node_id).set(node.resources["rssBytes"])
                self.available.labels(node_id).set(node.resources["memoryAvailableBytes"])
        self._seen = set(nodes)

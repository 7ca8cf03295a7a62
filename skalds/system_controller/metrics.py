"""Prometheus metrics of one controller (its own registry, so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from skalds.system_controller.node_metrics import NodeGauges
from skalds.tasks.problems import ProblemLog


class ControllerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tasks_by_status = Gauge("skalds_tasks", "Tasks by lifecycle status", ["status"], registry=self.registry)
        self.nodes_online = Gauge("skalds_nodes_online", "Skald nodes online", registry=self.registry)
        self.nodes_total = Gauge("skalds_nodes", "Skald nodes known", registry=self.registry)
        self.assignment_latency = Histogram(
            "skalds_assignment_latency_seconds", "Task became Created -> assigned to a node",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=self.registry)
        self.assignments = Counter("skalds_assignments", "Tasks assigned to nodes", registry=self.registry)
        self.reassignments = Counter("skalds_reassignments", "Lost tasks handed back for a new attempt",
                                     registry=self.registry)
        self.request_duration = Histogram(
            "skalds_api_request_duration_seconds", "API request duration", ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), registry=self.registry)
        self.is_leader = Gauge("skalds_controller_leader", "1 while this controller holds the lease",
                               registry=self.registry)
        self.invalid_documents = Gauge("skalds_invalid_task_documents", "Task documents skipped as unusable, "
                                       "listed at /api/system/problems", registry=self.registry)
        self.invalid_document_skips = Counter("skalds_invalid_task_document_skips", "Reads that skipped an "
                                              "unusable task document", registry=self.registry)
        self.store_operations = Counter("skalds_controller_store_operations", "Task-store operations this "
                                        "controller made, by operation", ["operation"], registry=self.registry)
        self.feed_rebuilds = Counter("skalds_controller_view_rebuilds", "Times the live view was read from the "
                                     "store (start, leadership, a gap in the change feed)", registry=self.registry)
        self.node_gauges = NodeGauges(self.registry)  # per node: running tasks, CPU, memory
        self._skips_seen = 0

    def observe_problems(self, problems: ProblemLog) -> None:
        """Mirror the process's problem log (the reads that skip documents know no metrics)."""
        self.invalid_documents.set(len(problems.snapshot()))
        total = problems.total
        if total > self._skips_seen:
            self.invalid_document_skips.inc(total - self._skips_seen)
        self._skips_seen = total

"""Prometheus gauges made at scrape time from what the controller holds in memory.

Per task (labelled by task and class): `skalds_task_progress` and `skalds_task_metric{name}` for the
tasks whose node still writes their progress, at most `max_tasks` of them (by task id; the rest are
left out and counted in `skalds_task_metrics_tasks_left_out`, so a scrape stays small however many
tasks run). And `skalds_live_tasks{status,class,node}`: the tasks that are not over, from the live view.
Made on each scrape, so a task that ended leaves no stale series behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from skalds.system_controller.live_view import LiveView
from skalds.system_controller.progress_series import ProgressSeries


class TaskGauges(Collector):
    def __init__(self, series: ProgressSeries, view: LiveView, max_tasks: int) -> None:
        self.series = series
        self.view = view
        self.max_tasks = max_tasks

    def collect(self) -> Iterator[Metric]:
        live = self.series.live()
        shown = live[:self.max_tasks]
        progress = GaugeMetricFamily("skalds_task_progress", "A running task's reported progress (0 to 1)",
                                     labels=["task", "class"])
        metric = GaugeMetricFamily("skalds_task_metric", "A number a running task reports (report_progress)",
                                   labels=["task", "class", "name"])
        for task_id, class_name, sample in shown:
            if sample["fraction"] is not None:
                progress.add_metric([task_id, class_name], sample["fraction"])
            for name, value in sample["metrics"].items():
                metric.add_metric([task_id, class_name, name], value)
        yield progress
        yield metric
        yield GaugeMetricFamily("skalds_task_metrics_tasks_left_out", "Tasks reporting progress that the per-task "
                                "gauges leave out (over METRICS_MAX_TASKS)", value=len(live) - len(shown))
        yield self._live_tasks()

    def _live_tasks(self) -> GaugeMetricFamily:
        counts = Counter((str(task.get("lifecycleStatus")), str(task.get("className") or ""),
                          str(task.get("executor") or "")) for task in self.view.tasks())
        gauge = GaugeMetricFamily("skalds_live_tasks", "Tasks that are not over, by status, class and node",
                                  labels=["status", "class", "node"])
        for labels, count in sorted(counts.items()):
            gauge.add_metric(list(labels), count)
        return gauge

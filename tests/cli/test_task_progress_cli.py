"""`skalds task show` prints the progress a worker reported, with its message taken as text (no markup), and
when and by which attempt the task's checkpoint was saved."""

from __future__ import annotations

import pytest

from support.cluster import wait_for

pytestmark = pytest.mark.integration


def shown_line(skalds, controllers, nodes, cluster, class_name: str, task_id: str, attachments: str,
               row: str) -> tuple[str, str]:
    """Run one task to its end, then the line `row` of `skalds task show` (and the whole output)."""
    url = controllers.start().url
    nodes.start()
    assert skalds("task", "create", class_name, "--id", task_id, "-a", attachments, "--url", url).returncode == 0
    cluster.wait_status(task_id, "Finished")
    shown = wait_for(lambda: (out := skalds("task", "show", task_id, "--url", url).stdout) and row in out and out,
                     15, f"the {row} line")
    return next(line for line in shown.splitlines() if line.startswith(row)), shown


def test_task_show_prints_the_reported_progress_and_message(skalds, controllers, nodes, cluster):
    line, shown = shown_line(skalds, controllers, nodes, cluster, "ProgressWorker", "shown",
                             '{"steps": 4, "every": 0.2}', "progress")
    assert line.split(None, 1)[1].strip() == "100.0% done", shown


def test_task_show_prints_when_the_checkpoint_was_saved(skalds, controllers, nodes, cluster):
    line, shown = shown_line(skalds, controllers, nodes, cluster, "TickWorker", "saved",
                             '{"seconds": 1, "checkpointEvery": 2}', "checkpoint")
    assert " by attempt 1 (" in line and line.rstrip().endswith("bytes)"), shown

"""`skalds task show` prints the progress a worker reported, with its message taken as text (no markup), and
when and by which attempt the task's checkpoint was saved."""

from __future__ import annotations

import pytest

from support.cluster import wait_for

pytestmark = pytest.mark.integration


def test_task_show_prints_the_reported_progress_and_message(skalds, controllers, nodes, cluster):
    url = controllers.start().url
    nodes.start()
    assert skalds("task", "create", "ProgressWorker", "--id", "shown", "-a", '{"steps": 4, "every": 0.2}',
                  "--url", url).returncode == 0
    cluster.wait_status("shown", "Finished")
    shown = wait_for(lambda: (out := skalds("task", "show", "shown", "--url", url).stdout) and "progress" in out
                     and out, 15, "the progress line")
    line = next(row for row in shown.splitlines() if row.startswith("progress"))
    assert line.split(None, 1)[1].strip() == "100.0% done", shown


def test_task_show_prints_when_the_checkpoint_was_saved(skalds, controllers, nodes, cluster):
    url = controllers.start().url
    nodes.start()
    assert skalds("task", "create", "TickWorker", "--id", "saved", "-a", '{"seconds": 1, "checkpointEvery": 2}',
                  "--url", url).returncode == 0
    cluster.wait_status("saved", "Finished")
    shown = wait_for(lambda: (out := skalds("task", "show", "saved", "--url", url).stdout) and "checkpoint" in out
                     and out, 15, "the checkpoint line")
    line = next(row for row in shown.splitlines() if row.startswith("checkpoint"))
    assert " by attempt 1 (" in line and line.rstrip().endswith("bytes)"), shown

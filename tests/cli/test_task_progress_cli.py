"""`skalds task show` prints the progress a worker reported, with its message taken as text (no markup)."""

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

"""`skalds task logs` against a real controller and node: filters, and `-f` following a running task."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import pytest

from cli.runner import SKALDS
from support.cluster import wait_for

pytestmark = pytest.mark.integration


def test_task_logs_filters_and_follows(skalds, controllers, nodes):
    controller = controllers.start()
    nodes.start()
    url = controller.url
    created = skalds("task", "create", "ChattyWorker", "--id", "chatty", "--attachments",
                     '{"lines": 1, "seconds": 60, "every": 0.2}', "--url", url)
    assert created.returncode == 0, created.stderr
    wait_for(lambda: "tick 1 attempt 1" in skalds("task", "logs", "chatty", "--url", url).stdout, 20, "ticks")

    warnings = skalds("task", "logs", "chatty", "--level", "warning", "--url", url)
    assert warnings.returncode == 0 and "WARNING  #1 careful 0 attempt 1" in warnings.stdout
    assert "plain print" not in warnings.stdout and "tick" not in warnings.stdout
    grep = skalds("task", "logs", "chatty", "--grep", "PLAIN", "--attempt", "1", "--url", url)
    assert grep.stdout.strip().endswith("INFO     #1 plain print 0 attempt 1"), grep.stdout
    assert skalds("task", "logs", "chatty", "--level", "loud", "--url", url).returncode == 2
    assert skalds("task", "logs", "nope", "--url", url).returncode == 1

    env = {key: value for key, value in os.environ.items() if key not in ("SKALDS_URL", "SKALDS_TOKEN")}
    follower = subprocess.Popen([str(SKALDS), "task", "logs", "chatty", "-f", "--limit", "1", "--url", url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(follower.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: len([line for line in seen if " tick " in line]) >= 4, 20, "four new ticks followed")
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(10)
    ticks = [int(line.split(" tick ")[1].split()[0]) for line in seen if " tick " in line]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))  # new lines, in order, none missed
    assert follower.returncode == 130

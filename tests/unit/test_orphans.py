"""A node that starts finds the stopped workers its earlier run left, and only those."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from skalds.node.orphans import WORKER_OF_ENV, kill_stopped_workers_of, stopped_workers_of

pytestmark = pytest.mark.unit


def _sleeper(owner: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            env={**os.environ, WORKER_OF_ENV: owner})


def test_only_stopped_processes_of_this_node_are_found_and_killed():
    stopped, running, other = _sleeper("node-x"), _sleeper("node-x"), _sleeper("node-y")
    try:
        for process in (stopped, other):
            os.kill(process.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5  # a signal is delivered a moment after it is sent
        while stopped.pid not in stopped_workers_of("node-x") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stopped_workers_of("node-x") == [stopped.pid]
        assert stopped_workers_of("") == []
        assert kill_stopped_workers_of("node-x") == 1
        assert stopped.wait(5) == -signal.SIGKILL
        assert running.poll() is None and other.poll() is None
    finally:
        for process in (stopped, running, other):
            process.kill()
            process.wait()

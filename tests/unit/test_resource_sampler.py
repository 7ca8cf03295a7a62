"""The resource sampler on real processes: a busy parent and a child holding 200 MB are measured as one
tree, a dead pid is skipped, a killed tree is gone; and the memory-limit words and precedence."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from skalds.node.memory_limits import MIB, breach, effective_limit_mb
from skalds.node.resource_sampler import ResourceSampler
from skalds.transport.node_registry import TASK_FIGURES, resource_figures

CHILD = ("import time; b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); "
         "print('ready', flush=True); time.sleep(60)")
PARENT = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, '-c', {CHILD!r}], stdout=subprocess.PIPE)
child.stdout.readline()
print('ready', flush=True)
end = time.monotonic() + 60
while time.monotonic() < end:
    pass
"""


@pytest.fixture
def tree():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == b"ready"
        yield parent
    finally:
        for process in psutil.Process(parent.pid).children(recursive=True) if parent.poll() is None else []:
            process.kill()
        parent.kill()
        parent.wait(10)


def test_a_busy_tree_with_a_big_child_is_measured_whole(tree):
    idle = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                            stdout=subprocess.PIPE)
    try:
        assert idle.stdout.readline() == b"up\n"  # its start-up (CPU) is over before the first sample
        sampler = ResourceSampler()
        sampler.sample({"t": tree.pid, "idle": idle.pid})  # the reference point of cpu_percent
        time.sleep(1.5)
        usage = sampler.sample({"t": tree.pid, "idle": idle.pid})
    finally:
        idle.kill()
        idle.wait(10)
    assert usage["t"].processes == 2 and usage["idle"].processes == 1
    assert usage["t"].rss_bytes > 200 * MIB > usage["idle"].rss_bytes
    # the parent spins: a core's worth on a quiet machine; on one loaded 6-fold (the suite beside other work)
    # its share can be a tenth of that, still far above a sleeper's ~0
    assert usage["t"].cpu_percent > 4 > 1 > usage["idle"].cpu_percent
    usage = usage["t"]
    assert sampler.pids("t")[0] == tree.pid and len(sampler.pids("t")) == 2
    wire = usage.to_wire(123)
    assert set(wire) == {"cpuPercent", "rssBytes", "processes", "at"} and wire["at"] == 123


def test_kill_ends_the_whole_tree_and_a_dead_pid_is_skipped(tree):
    sampler = ResourceSampler()
    sampler.sample({"t": tree.pid})
    pids = sampler.pids("t")
    assert sampler.kill("t") == 2
    tree.wait(10)
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids):
        assert time.monotonic() < deadline, "the tree outlived its kill"
        time.sleep(0.05)
    assert "t" not in sampler.sample({"t": tree.pid})  # gone: nothing measured, nothing raised
    assert sampler.sample({}) == {} and sampler.pids("t") == []


def test_node_usage_is_this_process():
    usage = ResourceSampler().node_usage()
    assert usage.processes == 1 and usage.rss_bytes > 10 * MIB


def test_the_breach_names_limit_and_rss_in_mib():
    assert breach(530 * MIB, 512) == "memory limit 512 MiB exceeded (RSS 530 MiB)"
    assert breach(512 * MIB, 512) is None
    assert breach(512 * MIB + 1, 512) == "memory limit 512 MiB exceeded (RSS 513 MiB)"
    assert breach(10**12, 0) is None


def test_a_task_limit_wins_over_the_node_default():
    assert effective_limit_mb(100, 2048) == 100
    assert effective_limit_mb(None, 2048) == 2048
    assert effective_limit_mb(None, 0) == 0
    assert effective_limit_mb(0, 64) == 64


def test_figures_a_node_wrote_are_read_bounded():
    good = '{"cpuPercent": 12.5, "rssBytes": 1024, "processes": 2, "at": 5}'
    assert resource_figures(good, TASK_FIGURES) == {"cpuPercent": 12.5, "rssBytes": 1024, "processes": 2, "at": 5}
    for bad in (None, "", "[]", "not json", '{"cpuPercent": 1}', good.replace("12.5", "-1"),
                good.replace("12.5", "true"), good.replace("12.5", '"12"'), good.replace("12.5", "NaN"),
                good.replace("12.5", "1e300"), good[:-1] + ', "pad": "' + "x" * 2000 + '"}'):
        assert resource_figures(bad, TASK_FIGURES) is None, bad

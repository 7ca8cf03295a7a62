"""Self-fencing under real faults: a frozen node, a killed node, live state cut off. Judged from the
workers' own tick records (two pids of one task ticking at the same time), never from the store.

The node fences at FENCE_SECONDS=2, below the controller's MONITOR_HEARTBEAT_TIMEOUT=6 (the
controller does not yet wait for a node's published fence time: with both at their defaults, 4 s
and 6 s, the same holds)."""

import os
import signal
import time

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.chaos_check import Ticks
from support.cluster import wait_for
from support.tcp_proxy import TcpProxy
from support.workers import TickModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TICK = 0.25
FENCE = {"FENCE_SECONDS": "2"}


def create(controller, record_to):
    response = controller.http.post("/api/tasks", json={"waitForClass": True,
                                                        "className": "TickWorker", "attachments": {
        "recordTo": record_to, "tickSeconds": TICK}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def tickers(ticks: Ticks, task_id: str, within: float = 1.0) -> set[int]:
    """The pids that ticked for `task_id` in the last `within` seconds."""
    now = time.time()
    return {pid for pid, (_start, end) in ticks.spans.get(task_id, {}).items() if now - end <= within}


def each_runs_once(ticks: Ticks, ids: list[str]) -> bool:
    ticks.read()
    return all(len(tickers(ticks, task_id)) == 1 for task_id in ids)


def test_a_frozen_node_never_runs_a_task_beside_its_new_copy(controllers, nodes, cluster, tmp_path):
    controller = controllers.start(MONITOR_HEARTBEAT_TIMEOUT="6")
    frozen = nodes.start("freeze-a", **FENCE)
    record_to = str(tmp_path / "ticks.jsonl")
    ids = [create(controller, record_to) for _ in range(10)]
    for task_id in ids:
        cluster.wait_status(task_id, "Running", timeout=30)
    ticks = Ticks(tmp_path / "ticks.jsonl")
    wait_for(lambda: each_runs_once(ticks, ids), 20, "every task ticking")
    nodes.start("freeze-b", **FENCE)
    os.kill(frozen.process.pid, signal.SIGSTOP)  # the node's main process only, not its workers
    try:
        time.sleep(20)
    finally:
        os.kill(frozen.process.pid, signal.SIGCONT)
    wait_for(lambda: all(cluster.status(t) == "Running" for t in ids) and each_runs_once(ticks, ids), 40,
             "every task running once again")
    time.sleep(3)  # the thawed node has seen its fenced workers' exits and acted on them
    ticks.read()
    assert ticks.overlaps(TICK) == {}, f"tasks ran twice at once (longest overlap, s): {ticks.overlaps(TICK)}"
    assert each_runs_once(ticks, ids)
    for task_id in ids:
        assert cluster.status(task_id) == "Running"
        assert not any(e.get("status") in ("Failed", "Cancelled") for e in cluster.history(task_id))
    assert frozen.process.poll() is None


def test_a_killed_node_restarted_at_once_never_runs_a_task_beside_its_old_copy(nodes, cluster, tmp_path):
    record_to = str(tmp_path / "ticks.jsonl")
    node = nodes.start("kill-a", **FENCE)
    ids = [f"t-kill-{index}" for index in range(5)]
    for task_id in ids:  # workers that ignore cancel requests: only fencing stops them at once
        cluster.create(task_id, "BusyTickWorker", TickModel(record_to=record_to, tick_seconds=TICK),
                       executor="kill-a")
        cluster.send_event(KafkaTopic.TASK_ASSIGN, task_id)
    for task_id in ids:
        cluster.wait_status(task_id, "Running")
    ticks = Ticks(tmp_path / "ticks.jsonl")
    wait_for(lambda: each_runs_once(ticks, ids), 20, "every task ticking")
    os.kill(node.process.pid, signal.SIGKILL)  # the node only: its workers are orphaned
    node.process.wait(5)
    nodes.start("kill-a", **FENCE)
    wait_for(lambda: all(cluster.doc(t)["attempt"] == 2 and cluster.status(t) == "Running" for t in ids), 30,
             "every task recovered")
    wait_for(lambda: each_runs_once(ticks, ids), 20, "every task ticking once")
    time.sleep(2)
    ticks.read()
    assert ticks.overlaps(TICK) == {}, f"tasks ran twice at once (longest overlap, s): {ticks.overlaps(TICK)}"
    assert all(len(pids) == 2 for pids in (ticks.spans[t] for t in ids))


def test_a_node_cut_off_from_live_state_fences_its_workers_and_restarts_them_after(nodes, cluster, services,
                                                                                   tmp_path):
    proxy = TcpProxy(services.redis_port)
    proxy.start()
    try:
        node = nodes.start(REDIS_PORT=str(proxy.port), **FENCE)
        record_to = str(tmp_path / "ticks.jsonl")
        cluster.create("t-cut", "TickWorker", TickModel(record_to=record_to, tick_seconds=TICK),
                       executor=node.skald_id)
        cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-cut")
        cluster.wait_status("t-cut", "Running")
        ticks = Ticks(tmp_path / "ticks.jsonl")
        wait_for(lambda: each_runs_once(ticks, ["t-cut"]), 20, "the task ticking")
        proxy.stop()
        node.wait_log("fences itself: no heartbeat reached live state", timeout=10)
        wait_for(lambda: (ticks.read(), not tickers(ticks, "t-cut"))[1], 5, "the fenced worker to stop")
        # Nothing runs it now: the store must not say Running while the node waits for live state.
        fenced = cluster.wait_status("t-cut", "Assigning", timeout=5)
        assert (fenced["executor"], fenced["attempt"]) == (node.skald_id, 1)
        assert cluster.history("t-cut")[-1].get("reason") == "fenced"
        proxy.start()
        node.wait_log("heartbeats reach live state again", timeout=20)
        wait_for(lambda: cluster.doc("t-cut")["attempt"] == 2 and each_runs_once(ticks, ["t-cut"]), 20,
                 "the task started again, a new attempt")
        cluster.wait_status("t-cut", "Running")  # recorded once its fresh heartbeat is written
        assert not any(e.get("status") in ("Failed", "Cancelled") for e in cluster.history("t-cut"))
        assert node.process.poll() is None
    finally:
        proxy.stop()


def test_the_api_does_not_state_the_status_of_a_frozen_nodes_task_as_a_fact(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    node = nodes.start("freeze-api", **FENCE)
    task_id = create(controller, str(tmp_path / "ticks.jsonl"))
    wait_for(lambda: controller.http.get(f"/api/tasks/{task_id}").json()["lifecycleStatus"] == "Running", 20, "run")
    assert controller.http.get(f"/api/tasks/{task_id}").json()["statusUnconfirmed"] is None
    os.kill(node.process.pid, signal.SIGSTOP)
    try:
        shown = wait_for(lambda: (task := controller.http.get(f"/api/tasks/{task_id}").json())["statusUnconfirmed"]
                         and task, 6, "the API to say the status is unconfirmed")
        assert "freeze-api" in shown["statusUnconfirmed"]
        listed = controller.http.get("/api/tasks", params={"id": task_id}).json()["items"]
        assert listed[0]["statusUnconfirmed"]
    finally:
        os.kill(node.process.pid, signal.SIGCONT)

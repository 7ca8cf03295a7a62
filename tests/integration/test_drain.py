"""Cordon, drain and uncordon on the real services: a drained node's tasks move to the other node, each once,
none lost, none running twice, within the deadline; the drain survives the leader's death."""

import itertools
import os
import signal
import time

import pytest

from support.cluster import read_records, wait_for

pytestmark = pytest.mark.integration


def create(controller, class_name="SleepWorker", **attachments):
    response = controller.http.post("/api/tasks", json={"waitForClass": True, "className": class_name,
                                                        "attachments": attachments})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def task(controller, task_id):
    return controller.http.get(f"/api/tasks/{task_id}").json()


def node_view(controller, node_id):
    return controller.http.get(f"/api/skalds/{node_id}").json()


def running_on(controller, task_ids):
    """task id -> executor, for those Running."""
    found = {}
    for task_id in task_ids:
        document = task(controller, task_id)
        if document["lifecycleStatus"] == "Running":
            found[task_id] = document["executor"]
    return found


def wait_all_running(controller, task_ids, timeout=30):
    return wait_for(lambda: len(found := running_on(controller, task_ids)) == len(task_ids) and found, timeout,
                    f"all of {len(task_ids)} tasks Running")


def intervals(records):
    """task -> [(main at, release at)] per copy (pid), from the worker's own records."""
    by_copy = {}
    for record in records:
        key = (record.get("task"), record["pid"])
        if record["event"] == "main":
            by_copy.setdefault(key, [record["ts"], None])[0] = record["ts"]
        elif record["event"] == "release":
            by_copy.setdefault(key, [None, None])[1] = record["ts"]
    result = {}
    for (task_id, _pid), (start, end) in by_copy.items():
        result.setdefault(task_id, []).append((start, end if end is not None else float("inf")))
    return result


def assert_never_twice(records):
    for task_id, copies in intervals(records).items():
        copies.sort()
        for (_, end), (start, _) in itertools.pairwise(copies):
            assert end <= start, f"two copies of {task_id} ran at once: {copies}"


def test_drain_under_load_moves_every_task_once_within_the_deadline(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    first, second = nodes.start("drain-a"), nodes.start("drain-b")
    records = str(tmp_path / "r.jsonl")
    ids = [create(controller, seconds=300, recordTo=records) for _ in range(16)]
    placed = wait_all_running(controller, ids)
    on_first = sorted(task_id for task_id, node in placed.items() if node == first.skald_id)
    assert on_first, placed
    started = time.monotonic()
    response = controller.http.post(f"/api/skalds/{first.skald_id}/drain",
                                    json={"deadlineSeconds": 40, "parallelism": 3})
    assert response.status_code == 202, response.text
    assert response.json()["drainState"] == "draining"
    assert node_view(controller, first.skald_id)["drainState"] == "draining"
    wait_for(lambda: set(running_on(controller, ids).values()) == {second.skald_id}
             and len(running_on(controller, ids)) == len(ids), 40, "every task Running on the other node")
    wait_for(lambda: node_view(controller, first.skald_id)["drainState"] == "drained", 10, "drained shown")
    assert time.monotonic() - started < 40
    for task_id in ids:
        document = task(controller, task_id)
        history = controller.http.get(f"/api/tasks/{task_id}/events").json()["events"]
        assert not any(entry.get("status") in ("Cancelled", "Failed") for entry in history), history
        if task_id in on_first:
            assert document["attempt"] == 2, document
            released = [entry for entry in history if entry["type"] == "released"]
            assert [entry.get("reason") for entry in released] == ["drain"], history
        else:
            assert document["attempt"] == 1, document
    assert_never_twice(read_records(records))
    # Drained and still cordoned: a new task goes to the other node; uncordoned, the drained node takes work again.
    later = create(controller, seconds=300, recordTo=records)
    assert wait_all_running(controller, [later])[later] == second.skald_id
    assert controller.http.post(f"/api/skalds/{first.skald_id}/uncordon").json()["drainState"] is None
    back = create(controller, seconds=300, recordTo=records)
    assert wait_all_running(controller, [back])[back] == first.skald_id  # least loaded again


def test_cordon_stops_new_placements_and_keeps_what_runs(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    first, second = nodes.start("cordon-a"), nodes.start("cordon-b")
    records = str(tmp_path / "r.jsonl")
    early = create(controller, seconds=300, recordTo=records)
    holder = wait_all_running(controller, [early])[early]
    cordoned = first if holder == first.skald_id else second
    other = second if cordoned is first else first
    assert controller.http.post(f"/api/skalds/{cordoned.skald_id}/cordon").json()["drainState"] == "cordoned"
    wait_for(lambda: len(controller.http.get("/api/skalds").json()["items"]) == 2, 10, "both nodes seen")
    listed = {node["id"]: node for node in controller.http.get("/api/skalds").json()["items"]}
    assert listed[cordoned.skald_id]["drainState"] == "cordoned" and listed[other.skald_id]["drainState"] is None
    time.sleep(2.5)  # every controller re-reads stored wishes within 2 s
    ids = [create(controller, seconds=300, recordTo=records) for _ in range(4)]
    assert set(wait_all_running(controller, ids).values()) == {other.skald_id}
    assert task(controller, early)["executor"] == cordoned.skald_id  # a cordon moves nothing
    assert controller.http.post(f"/api/skalds/{cordoned.skald_id}/uncordon").status_code == 200
    fresh = create(controller, seconds=300, recordTo=records)
    assert wait_all_running(controller, [fresh])[fresh] == cordoned.skald_id


def test_a_drain_survives_the_leaders_death(controllers, nodes, cluster, tmp_path):
    """The drain is stored: the standby takes the lead and finishes it (its tasks each take ~3 s to stop)."""
    leader = controllers.start()
    standby = controllers.start()
    first = nodes.start("lead-a")
    ids = [create(leader, "StubbornWorker") for _ in range(5)]
    wait_all_running(leader, ids)
    second = nodes.start("lead-b")
    response = leader.http.post(f"/api/skalds/{first.skald_id}/drain", json={"deadlineSeconds": 90, "parallelism": 1})
    assert response.status_code == 202
    wait_for(lambda: second.skald_id in running_on(standby, ids).values(), 20, "the first task moved")
    os.kill(leader.process.pid, signal.SIGKILL)
    leader.process.wait(5)
    wait_for(lambda: set(running_on(standby, ids).values()) == {second.skald_id}
             and len(running_on(standby, ids)) == len(ids), 60, "the standby finished the drain")
    wait_for(lambda: node_view(standby, first.skald_id)["drainState"] == "drained", 10, "drained")
    for task_id in ids:
        history = standby.http.get(f"/api/tasks/{task_id}/events").json()["events"]
        kinds = [(entry["type"], entry.get("executor")) for entry in history]
        released = kinds.index(("released", first.skald_id))
        assert ("assigned", second.skald_id) in kinds[released:], kinds  # moved only after its release
        assert task(standby, task_id)["attempt"] == 2


def test_a_node_told_to_stop_drains_itself(controllers, nodes, cluster, tmp_path):
    controller = controllers.start()
    records = str(tmp_path / "r.jsonl")
    first = nodes.start("self-a", SHUTDOWN_DRAIN_SECONDS="30", DRAIN_PARALLELISM="2")
    ids = [create(controller, seconds=300, recordTo=records) for _ in range(6)]
    wait_all_running(controller, ids)
    second = nodes.start("self-b")
    first.process.send_signal(signal.SIGTERM)
    wait_for(lambda: node_view(controller, first.skald_id).get("drainState") == "draining", 10, "draining shown")
    wait_for(lambda: set(running_on(controller, ids).values()) == {second.skald_id}
             and len(running_on(controller, ids)) == len(ids), 40, "every task moved to the other node")
    assert first.process.wait(30) == 0
    for task_id in ids:
        history = controller.http.get(f"/api/tasks/{task_id}/events").json()["events"]
        assert [entry.get("reason") for entry in history if entry["type"] == "released"] == ["node shutdown"], \
            history
    assert_never_twice(read_records(records))

"""The disconnect policy on the real services: a node cut off from Kafka, MongoDB and Redis for 60 s keeps its
`replace: false` tasks running (shown Unknown meanwhile, never moved) and records what it queued once back; a
task that may be replaced moves to another node and its old copy stops. An edge node cut off beside it keeps its
YAML file's tasks the same way (edge tasks are never moved)."""

import time

import pytest

from support.cluster import read_records, wait_for
from support.processes import alive
from support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_SECONDS = 60


@pytest.fixture
def proxies(services, nodes):
    made = {"mongo": TcpProxy(services.mongo_port), "redis": TcpProxy(services.redis_port),
            "kafka": TcpProxy(services.kafka_port)}
    for proxy in made.values():
        proxy.start()
    yield made
    nodes.stop_all()
    for proxy in made.values():
        proxy.stop()


def create(controller, disconnect=None, **attachments):
    body = {"className": "SleepWorker", "waitForClass": True, "attachments": attachments}
    if disconnect is not None:
        body["disconnect"] = disconnect
    response = controller.http.post("/api/tasks", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def shown(controller, task_id):
    return controller.http.get(f"/api/tasks/{task_id}").json()


def start_cut_off(nodes, proxies, skald_id, **settings):
    """A node that reaches every service through the test's proxies."""
    return nodes.start(skald_id, MONGO_HOST=f"mongodb://root:root@127.0.0.1:{proxies['mongo'].port}/",
                       REDIS_PORT=str(proxies["redis"].port), KAFKA_PORT=str(proxies["kafka"].port), **settings)


def edge_file(tmp_path, records):
    """Two edge tasks: one runs through the outage, one ends during it (its Finished is queued)."""
    path = tmp_path / "edge.yaml"
    path.write_text("TaskWorkers:\n" + "".join(
        f"  {task_id}:\n    className: SleepWorker\n    attachments:\n      seconds: {seconds}\n"
        f"      recordTo: {records}\n      label: {task_id}\n" for task_id, seconds in (("edge-keep", 600),
                                                                                     ("edge-ends", 20))))
    return path


def run_then_cut(controller, nodes, proxies, records, watched, task_ids, other_id):
    """Wait until `task_ids` run, note the pid of `watched`'s worker, start another node, cut the proxies."""
    for task_id in task_ids:
        wait_for(lambda task_id=task_id: shown(controller, task_id)["lifecycleStatus"] == "Running", 30,
                 f"{task_id} Running")
    pid = next(r["pid"] for r in read_records(records) if r["event"] == "main" and r["task"] == watched)
    other = nodes.start(other_id)
    for proxy in proxies.values():
        proxy.stop()
    return pid, other


def test_a_node_cut_off_keeps_its_replace_false_tasks_and_records_what_it_queued(controllers, nodes, proxies,
                                                                                  tmp_path):
    controller = controllers.start()
    cut = start_cut_off(nodes, proxies, "cut-node")
    records = str(tmp_path / "r.jsonl")
    edge = start_cut_off(nodes, proxies, "cut-edge", SKALD_MODE="edge", YAML_FILE=str(edge_file(tmp_path, records)))
    keep = create(controller, {"replace": False}, seconds=600, recordTo=records, label="keep")
    ends = create(controller, {"replace": False}, seconds=20, recordTo=records, label="ends")
    moves = create(controller, seconds=600, recordTo=records, label="moves")
    pid, other = run_then_cut(controller, nodes, proxies, records, keep,
                              (keep, ends, moves, "edge-keep", "edge-ends"), "other-node")
    edge_pid = next(r["pid"] for r in read_records(records) if r["event"] == "main" and r["task"] == "edge-keep")
    cut_at = time.monotonic()
    wait_for(lambda: shown(controller, keep)["state"] == "Unknown", 15, "Unknown shown while cut off")
    document = shown(controller, keep)
    assert document["lifecycleStatus"] == "Running" and document["executor"] == cut.skald_id
    wait_for(lambda: shown(controller, moves)["executor"] == other.skald_id
             and shown(controller, moves)["lifecycleStatus"] == "Running", 30, "the replaceable task moved")
    wait_for(lambda: any(r["event"] == "release" and r["task"] == ends for r in read_records(records)), 40,
             "the short task to end while cut off")
    while time.monotonic() - cut_at < OUTAGE_SECONDS:
        assert shown(controller, keep)["executor"] == cut.skald_id  # never moved
        assert shown(controller, keep)["state"] == "Unknown"
        time.sleep(2)
    assert alive(pid), "the worker of a replace:false task was stopped during the outage"
    assert alive(edge_pid), "an edge task's worker was stopped during the outage"
    assert shown(controller, ends)["lifecycleStatus"] == "Running"  # its Finished is queued on the node
    assert any(r["event"] == "release" and r["task"] == "edge-ends" for r in read_records(records))
    for proxy in proxies.values():
        proxy.start()
    wait_for(lambda: shown(controller, ends)["lifecycleStatus"] == "Finished", 30, "the queued Finished recorded")
    wait_for(lambda: shown(controller, "edge-ends")["lifecycleStatus"] == "Finished", 30, "the edge's Finished")
    wait_for(lambda: shown(controller, "edge-keep")["state"] == "Running", 30, "the edge task confirmed again")
    assert shown(controller, "edge-keep")["executor"] == edge.skald_id and alive(edge_pid)
    wait_for(lambda: shown(controller, keep)["state"] == "Running", 30, "confirmed again")
    document = shown(controller, keep)
    assert document["executor"] == cut.skald_id and document["attempt"] == 1 and alive(pid)
    mains = [r for r in read_records(records) if r["event"] == "main" and r["task"] == keep]
    assert len(mains) == 1, mains  # it never ran anywhere else
    assert shown(controller, ends)["executor"] == cut.skald_id
    # the replaceable task's old copy stopped on the cut node; it runs once, on the other node
    moved = [r for r in read_records(records) if r["event"] == "main" and r["task"] == moves]
    assert len(moved) == 2 and not alive(moved[0]["pid"]) and alive(moved[1]["pid"])
    assert shown(controller, moves)["executor"] == other.skald_id


def test_a_long_lost_after_keeps_a_worker_through_a_shorter_outage(controllers, nodes, proxies, tmp_path):
    """Without the policy the node fences its worker after 4 s and the controller moves the task after 6 s;
    with `lostAfterSeconds: 40` a 15 s outage changes nothing: same worker, same attempt, same node."""
    controller = controllers.start()
    cut = start_cut_off(nodes, proxies, "flap-node")
    records = str(tmp_path / "r.jsonl")
    patient = create(controller, {"lostAfterSeconds": 40}, seconds=600, recordTo=records, label="patient")
    plain = create(controller, seconds=600, recordTo=records, label="plain")
    pid, other = run_then_cut(controller, nodes, proxies, records, patient, (patient, plain), "steady-node")
    wait_for(lambda: shown(controller, patient)["state"] == "Unknown", 15, "Unknown shown")
    wait_for(lambda: shown(controller, plain)["executor"] == other.skald_id, 30, "the plain task moved")
    time.sleep(max(0.0, 15 - 8))
    assert shown(controller, patient)["executor"] == cut.skald_id and alive(pid)
    for proxy in proxies.values():
        proxy.start()
    wait_for(lambda: shown(controller, patient)["state"] == "Running", 30, "confirmed again")
    document = shown(controller, patient)
    assert document["executor"] == cut.skald_id and document["attempt"] == 1 and alive(pid)
    assert [r["pid"] for r in read_records(records) if r["event"] == "main" and r["task"] == patient] == [pid]

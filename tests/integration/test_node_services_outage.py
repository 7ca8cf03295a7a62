"""Services unreachable at start, or going away while tasks run: the node waits, retries and loses nothing."""

import time

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.cluster import read_records, wait_for
from support.tcp_proxy import TcpProxy
from support.workers import SleepModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def proxies(services, nodes):
    """The nodes stop while the proxies still forward: a node cut off from its services sits out its whole stop
    timeout."""
    made = {"mongo": TcpProxy(services.mongo_port), "redis": TcpProxy(services.redis_port),
            "kafka": TcpProxy(services.kafka_port)}
    yield made
    nodes.stop_all()
    for proxy in made.values():
        proxy.stop()


def via(proxies, *which):
    overrides = {}
    if "mongo" in which:
        overrides["MONGO_HOST"] = f"mongodb://root:root@127.0.0.1:{proxies['mongo'].port}/"
    if "redis" in which:
        overrides["REDIS_PORT"] = str(proxies["redis"].port)
    if "kafka" in which:
        overrides["KAFKA_PORT"] = str(proxies["kafka"].port)
    return overrides


def test_node_waits_for_each_service_at_start(nodes, cluster, proxies):
    node = nodes.start(wait=False, **via(proxies, "mongo", "redis", "kafka"))
    node.wait_log("MongoDB at mongodb://root:******@127.0.0.1")
    node.wait_log("is not reachable")
    assert node.process.poll() is None
    proxies["mongo"].start()
    node.wait_log(f"Redis at 127.0.0.1:{proxies['redis'].port}/0 is not reachable")
    proxies["redis"].start()
    node.wait_log(f"Kafka at 127.0.0.1:{proxies['kafka'].port} is not reachable")
    proxies["kafka"].start()
    node.wait_ready()
    cluster.create("t-late", "SleepWorker", SleepModel(seconds=0.1), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-late")
    cluster.wait_status("t-late", "Finished")
    assert "root:root" not in node.log()


def test_mongo_and_redis_going_away_lose_nothing_and_tasks_keep_running(nodes, cluster, proxies, tmp_path):
    proxies["mongo"].start()
    proxies["redis"].start()
    # An outage shorter than the fence time: the node does not fence its workers (a longer one does,
    # see test_node_fencing.py).
    node = nodes.start(FENCE_SECONDS="30", **via(proxies, "mongo", "redis"))
    records = str(tmp_path / "r.jsonl")
    cluster.create("t-survive", "SleepWorker", SleepModel(seconds=4, record_to=records), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-survive")
    cluster.wait_status("t-survive", "Running")
    registered_at = int(cluster.hgetall("skalds:hash")[node.skald_id])
    proxies["mongo"].stop()
    proxies["redis"].stop()
    # An assign sent while MongoDB is away waits for it, and the running task finishes meanwhile.
    cluster.create("t-during", "SleepWorker", SleepModel(seconds=0.1), executor=node.skald_id)
    cluster.send_event(KafkaTopic.TASK_ASSIGN, "t-during")
    wait_for(lambda: any(r["event"] == "release" for r in read_records(records)), 15, "task to end while away")
    node.wait_log("waits for a service")
    assert cluster.status("t-survive") == "Running"  # its Finished is queued, not lost
    time.sleep(1)
    proxies["mongo"].start()
    proxies["redis"].start()
    cluster.wait_status("t-survive", "Finished", timeout=30)
    cluster.wait_status("t-during", "Finished", timeout=30)
    wait_for(lambda: int(cluster.hgetall("skalds:hash").get(node.skald_id, 0)) > registered_at + 3000, 10,
             "node heartbeats to resume after the outage")
    assert node.process.poll() is None

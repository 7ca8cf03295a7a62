"""Edge mode (YAML tasks at boot) and single_process mode (one task, exit status = outcome)."""

import signal
import time

import pytest

from skalds.proxy.kafka import KafkaTopic
from support.cluster import read_records, wait_for

pytestmark = pytest.mark.integration

YAML = """\
# operator's comment that must survive
TaskWorkers:
  edge-a:
    className: SleepWorker
    attachments:
      seconds: 30
      recordTo: {records}
      label: from-yaml
  edge-b:
    className: SleepWorker
    attachments:
      seconds: 30
  edge-bad-class:
    className: NoSuchWorker
"""


def test_edge_starts_yaml_tasks_records_them_and_never_rewrites_the_file(nodes, cluster, tmp_path):
    records = tmp_path / "r.jsonl"
    yaml_file = tmp_path / "tasks.yml"
    yaml_file.write_text(YAML.format(records=records))
    before = yaml_file.read_bytes()
    node = nodes.start(SKALD_MODE="edge", YAML_FILE=str(yaml_file))
    for task_id in ("edge-a", "edge-b"):
        document = cluster.wait_status(task_id, "Running")
        assert document["mode"] == "Active" and document["executor"] == node.skald_id
    node.wait_log("'NoSuchWorker' is not registered")
    assert yaml_file.read_bytes() == before
    assert cluster.hgetall("skalds:mode:hash")[node.skald_id] == "edge"


def test_update_event_reaches_an_edge_task(nodes, cluster, tmp_path):
    records = tmp_path / "r.jsonl"
    yaml_file = tmp_path / "tasks.yml"
    yaml_file.write_text(YAML.format(records=records))
    nodes.start(SKALD_MODE="edge", YAML_FILE=str(yaml_file))
    cluster.wait_status("edge-a", "Running")
    from support.workers import SleepModel

    cluster.repository.update_attachments("edge-a", SleepModel(seconds=30, record_to=str(records), label="live"))
    cluster.send_event(KafkaTopic.TASK_UPDATE_ATTACHMENT, "edge-a")
    wait_for(lambda: any(r.get("label") == "live" and r["event"] == "update_end" for r in read_records(records)),
             10, "edge update")


def test_edge_reports_class_mismatch_and_starts_the_others(nodes, cluster, tmp_path):
    yaml_file = tmp_path / "tasks.yml"
    yaml_file.write_text(YAML.format(records=tmp_path / "r.jsonl"))
    cluster.create_raw({"id": "edge-b", "className": "FailingWorker", "source": "test", "attachments": {}})
    node = nodes.start(SKALD_MODE="edge", YAML_FILE=str(yaml_file))
    cluster.wait_status("edge-a", "Running")
    node.wait_log("YAML class SleepWorker differs from MongoDB's FailingWorker")


def test_edge_without_kafka_redis_or_mongo(nodes, tmp_path):
    records = tmp_path / "r.jsonl"
    yaml_file = tmp_path / "tasks.yml"
    yaml_file.write_text(YAML.format(records=records).replace("seconds: 30", "seconds: 0.2"))
    node = nodes.start(SKALD_MODE="edge", YAML_FILE=str(yaml_file), KAFKA_HOST="", REDIS_HOST="", MONGO_HOST="")
    wait_for(lambda: any(r["event"] == "release" for r in read_records(records)), 15, "edge task without services")
    node.wait_log("edge-a Finished")


SINGLE = """\
TaskWorkers:
  sp-task:
    className: {cls}
    attachments:
      seconds: {seconds}
"""


@pytest.mark.parametrize(("cls", "code"), [("SleepWorker", 0), ("FailingWorker", 1), ("InitFailWorker", 1)])
def test_single_process_exit_status_is_the_outcome(nodes, tmp_path, cls, code):
    yaml_file = tmp_path / "one.yml"
    yaml_file.write_text(SINGLE.format(cls=cls, seconds=0.2))
    node = nodes.start(SKALD_MODE="single_process", YAML_FILE=str(yaml_file), KAFKA_HOST="", REDIS_HOST="",
                       wait=False)
    assert node.process.wait(60) == code, node.log()[-3000:]


def test_single_process_forwards_sigterm_and_exits_non_zero(nodes, tmp_path):
    yaml_file = tmp_path / "one.yml"
    yaml_file.write_text(SINGLE.format(cls="SleepWorker", seconds=60))
    node = nodes.start(SKALD_MODE="single_process", YAML_FILE=str(yaml_file), KAFKA_HOST="", REDIS_HOST="",
                       wait=False)
    node.wait_log("SleepWorker main")
    started = time.monotonic()
    node.process.send_signal(signal.SIGTERM)
    assert node.process.wait(15) == 143
    assert time.monotonic() - started < 5
    assert "ended Cancelled" in node.log()


def test_an_edge_node_reconciles_requests_whose_events_were_lost(nodes, cluster, tmp_path):
    """Events only wake a node: a cancel, pause or update stored without one still lands on an edge task,
    with Kafka and without it."""
    from skalds.tasks import lifecycle
    from support.workers import SleepModel

    records = tmp_path / "r.jsonl"
    yaml_file = tmp_path / "tasks.yml"
    yaml_file.write_text(YAML.format(records=records))
    nodes.start(SKALD_MODE="edge", YAML_FILE=str(yaml_file), RECONCILE_PERIOD="1")
    cluster.wait_status("edge-a", "Running")
    cluster.wait_status("edge-b", "Running")
    lifecycle.update_attachments(cluster.store, "edge-a",
                                 SleepModel(seconds=30, record_to=str(records), label="live").model_dump(by_alias=True))
    wait_for(lambda: any(r.get("label") == "live" and r["event"] == "update_end" for r in read_records(records)),
             10, "the stored update to reach the edge task")
    cluster.desire("edge-b", "Cancelled")
    cluster.wait_status("edge-b", "Cancelled", timeout=10)


def test_an_edge_node_without_kafka_reconciles_with_the_store(nodes, cluster, tmp_path):
    yaml_file = tmp_path / "tasks.yml"
    yaml_file.write_text(YAML.format(records=tmp_path / "r.jsonl"))
    nodes.start(SKALD_MODE="edge", YAML_FILE=str(yaml_file), RECONCILE_PERIOD="1", KAFKA_HOST="")
    cluster.wait_status("edge-b", "Running")
    cluster.desire("edge-b", "Paused")
    cluster.wait_status("edge-b", "Paused", timeout=10)
    cluster.desire("edge-b", "Running")
    cluster.wait_status("edge-b", "Running", timeout=10)

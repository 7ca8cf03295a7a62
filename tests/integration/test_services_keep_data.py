"""`scripts/services down` then `up` keeps Kafka's and FerretDB's data; `reset` deletes it.

Runs its own instance of the three services on free ports and a private state folder, so the
suite's shared services are not touched.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from pymongo import MongoClient

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TOPIC = "keep-data-check"


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture
def private_services(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
    kafka, controller, mongo, redis = _free_ports(4)
    env = {**os.environ, "SKALDS_KAFKA_PORT": str(kafka), "SKALDS_KAFKA_CONTROLLER_PORT": str(controller),
           "SKALDS_MONGO_PORT": str(mongo), "SKALDS_REDIS_PORT": str(redis),
           "SKALDS_STATE_DIR": str(tmp_path / "state")}
    try:
        yield env, {"kafka": kafka, "mongo": mongo}
    finally:
        subprocess.run([str(REPO / "scripts" / "services"), "reset"], env=env, check=False, capture_output=True)


def _services(env: dict[str, str], command: str) -> str:
    result = subprocess.run([str(REPO / "scripts" / "services"), command], env=env, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, f"services {command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _mongo(port: int) -> MongoClient:
    return MongoClient(f"mongodb://root:root@127.0.0.1:{port}/", serverSelectionTimeoutMS=5000)


def _kafka_messages(port: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": f"127.0.0.1:{port}", "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([TOPIC])
    try:
        values: list[bytes] = []
        for _ in range(40):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
            elif values:
                break
        return values
    finally:
        consumer.close()


def _cluster_id(state: Path) -> str:
    meta = (state / "kafka" / "data" / "meta.properties").read_text()
    return next(line.split("=", 1)[1] for line in meta.splitlines() if line.startswith("cluster.id="))


def test_down_then_up_keeps_topics_offsets_and_documents_and_reset_wipes(
        private_services: tuple[dict[str, str], dict[str, int]]) -> None:
    env, ports = private_services
    state = Path(env["SKALDS_STATE_DIR"])
    _services(env, "up")
    with _mongo(ports["mongo"]) as client:
        client["keep"]["tasks"].insert_one({"_id": "kept", "id": "kept"})
    producer = Producer({"bootstrap.servers": f"127.0.0.1:{ports['kafka']}"})
    producer.produce(TOPIC, key=b"k", value=b"still here")
    assert producer.flush(10) == 0
    cluster = _cluster_id(state)

    _services(env, "down")
    log = _services(env, "up")
    assert "reusing the data" in log
    assert _cluster_id(state) == cluster
    with _mongo(ports["mongo"]) as client:
        assert client["keep"]["tasks"].find_one({"_id": "kept"}) is not None
    assert _kafka_messages(ports["kafka"]) == [b"still here"]

    _kill_ferretdb_keeps_acknowledged_writes(env, ports["mongo"], state)

    _services(env, "reset")
    assert not (state / "kafka" / "data").exists() and not (state / "ferretdb" / "data").exists()
    _services(env, "up")
    with _mongo(ports["mongo"]) as client:
        assert client["keep"]["tasks"].find_one({"_id": "kept"}) is None
    assert _cluster_id(state) != cluster


def _kill_ferretdb_keeps_acknowledged_writes(env: dict[str, str], port: int, state: Path) -> None:
    """FerretDB's SQLite syncs at checkpoints, not at every commit (assets/ferretdb/main.go): a server killed
    at once still has every write it acknowledged, as they are in the OS's cache."""
    with _mongo(port) as client:
        tasks = client["keep"]["tasks"]
        for number in range(200):
            tasks.update_one({"_id": "kept"}, {"$set": {"n": number}})
        tasks.insert_one({"_id": "last", "id": "last"})
    pid = json.loads((state / "ferretdb" / "ferretdb.pid.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    _services(env, "up")
    with _mongo(port) as client:
        assert client["keep"]["tasks"].find_one({"_id": "kept"})["n"] == 199
        assert client["keep"]["tasks"].find_one({"_id": "last"}) is not None

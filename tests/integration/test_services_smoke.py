"""Smoke tests proving the services from ``scripts/services up`` are the real thing.

They run against already-started services (ports from SKALDS_KAFKA_PORT, SKALDS_MONGO_PORT,
SKALDS_REDIS_PORT). A service that is down makes its tests FAIL with the reason, never skip:
a green run must mean the backends were really exercised.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from skalds.transport.probes import quiet_kafka_logger

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
KAFKA_PORT = int(os.environ.get("SKALDS_KAFKA_PORT") or 9092)
MONGO_PORT = int(os.environ.get("SKALDS_MONGO_PORT") or 27017)
REDIS_PORT = int(os.environ.get("SKALDS_REDIS_PORT") or 6379)
KAFKA_BOOTSTRAP = f"{HOST}:{KAFKA_PORT}"
# The seed's connection string, with the port taken from the environment.
MONGO_SEED_URI = f"mongodb://root:root@localhost:{MONGO_PORT}/"
MONGO_ANON_URI = f"mongodb://{HOST}:{MONGO_PORT}/"
START_HINT = "start the services with: scripts/services up"


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _require_port(service: str, port: int) -> None:
    """Fail the calling test at once, with the reason, when nothing listens on the port.

    Called from test bodies (not fixtures) so a missing service shows as FAILED, not ERROR.
    """
    if not _listening(port):
        pytest.fail(f"{service} is not listening on {HOST}:{port}; {START_HINT}", pytrace=False)


def _listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=2).close()
    except OSError:
        return False
    return True


# -- Kafka ---------------------------------------------------------------------------------------


def _require_kafka() -> str:
    """The bootstrap address, after proving a broker answers metadata requests."""
    from confluent_kafka.admin import AdminClient

    _require_port("Kafka", KAFKA_PORT)
    admin = AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP, "logger": quiet_kafka_logger()})
    try:
        brokers = admin.list_topics(timeout=10).brokers
    except Exception as exc:
        pytest.fail(f"Kafka at {KAFKA_BOOTSTRAP} does not answer metadata requests ({exc}); {START_HINT}",
                    pytrace=False)
    if not brokers:
        pytest.fail(f"Kafka at {KAFKA_BOOTSTRAP} answered metadata without brokers; {START_HINT}", pytrace=False)
    return KAFKA_BOOTSTRAP


def _create_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": quiet_kafka_logger()})  # must outlive the future
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)], operation_timeout=15)
    futures[topic].result(timeout=30)


def _produce(bootstrap: str, topic: str, values: list[str]) -> None:
    from confluent_kafka import Producer

    errors: list[object] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "logger": quiet_kafka_logger()})
    for value in values:
        producer.produce(topic, value=value.encode(), on_delivery=lambda err, _msg: err and errors.append(err))
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} messages not delivered"
    assert not errors, f"delivery errors: {errors}"


def _consumer(bootstrap: str, group: str, topic: str):  # -> confluent_kafka.Consumer
    from confluent_kafka import Consumer

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "logger": quiet_kafka_logger(),
    })
    consumer.subscribe([topic])
    return consumer


def _consume(consumer, count: int, timeout_s: float = 30.0, settle_s: float = 0.0) -> list[str]:
    """Poll until ``count`` values arrived, then keep polling ``settle_s`` to catch extras."""
    values: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(values) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, f"consumer error: {msg.error()}"
        values.append(msg.value().decode())
    settle_end = time.monotonic() + settle_s
    while time.monotonic() < settle_end:
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            values.append(msg.value().decode())
    return values


def test_kafka_groups_each_see_all_and_resume_after_commit() -> None:
    kafka_bootstrap = _require_kafka()
    topic = _unique("smoke-topic")
    _create_topic(kafka_bootstrap, topic)
    first = [f"m{i}" for i in range(5)]
    _produce(kafka_bootstrap, topic, first)

    group_a, group_b = _unique("smoke-a"), _unique("smoke-b")
    consumer_a = _consumer(kafka_bootstrap, group_a, topic)
    consumer_b = _consumer(kafka_bootstrap, group_b, topic)
    try:
        assert _consume(consumer_a, len(first)) == first, "group A must see every message"
        assert _consume(consumer_b, len(first)) == first, "group B must independently see every message"
        consumer_a.commit(asynchronous=False)
    finally:
        consumer_a.close()
        consumer_b.close()

    later = [f"n{i}" for i in range(3)]
    _produce(kafka_bootstrap, topic, later)

    resumed = _consumer(kafka_bootstrap, group_a, topic)
    try:
        got = _consume(resumed, len(later), settle_s=1.0)
    finally:
        resumed.close()
    assert got == later, "a restarted group A consumer must resume after its committed offset"


# -- MongoDB wire (FerretDB) --------------------------------------------------------------------


@pytest.fixture(params=[MONGO_SEED_URI, MONGO_ANON_URI], ids=["seed-uri", "no-credentials"])
def mongo_db(request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh database (unique name, dropped afterwards) reached through each URI.

    The server is checked in the test body (``_require_mongo``), so a down server fails the test.
    """
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient = MongoClient(request.param, serverSelectionTimeoutMS=5000)
    name = _unique("smoke")
    try:
        yield client[name]
    finally:
        if _listening(MONGO_PORT):
            with contextlib.suppress(PyMongoError):
                client.drop_database(name)
        client.close()


def _require_mongo(db) -> None:
    from pymongo.errors import PyMongoError

    _require_port("The MongoDB-wire server (FerretDB)", MONGO_PORT)
    try:
        db.client.admin.command("ping")
    except PyMongoError as exc:
        pytest.fail(f"MongoDB-wire server on port {MONGO_PORT} refused us ({exc}); {START_HINT}", pytrace=False)


def test_mongo_unique_index_rejects_duplicate(mongo_db) -> None:
    from pymongo.errors import DuplicateKeyError

    _require_mongo(mongo_db)
    coll = mongo_db["tasks"]
    coll.create_index("task_id", unique=True)
    coll.insert_one({"task_id": "t-1", "state": "pending"})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"task_id": "t-1", "state": "other"})
    assert coll.count_documents({"task_id": "t-1"}) == 1


def test_mongo_conditional_find_one_and_update(mongo_db) -> None:
    from pymongo import ReturnDocument

    _require_mongo(mongo_db)
    coll = mongo_db["tasks"]
    coll.insert_one({"_id": "t-1", "state": "pending", "attempts": 0})
    claim = {"_id": "t-1", "state": "pending"}
    change = {"$set": {"state": "running"}, "$inc": {"attempts": 1}}

    won = coll.find_one_and_update(claim, change, return_document=ReturnDocument.AFTER)
    assert won == {"_id": "t-1", "state": "running", "attempts": 1}
    # the condition no longer holds: no update, no document
    assert coll.find_one_and_update(claim, change) is None
    assert coll.find_one({"_id": "t-1"}) == {"_id": "t-1", "state": "running", "attempts": 1}


def test_ferretdb_looks_up_id_filters_in_its_index(mongo_db) -> None:
    """Our FerretDB build (skalds/devservices/ferretdb.py, SOURCE_PATCHES) answers every filter on a
    listed `_id` from SQLite's `_id` index, including compare-and-set filters with other fields;
    the released v1.24 scans the whole table for all of them."""
    _require_mongo(mongo_db)
    coll = mongo_db["tasks"]
    coll.insert_many([{"_id": f"t-{index}", "executor": "a", "attempt": 1} for index in range(5)])

    def plan(query: dict) -> str:
        answer = mongo_db.command("explain", {"find": "tasks", "filter": query})
        return " ".join(answer["queryPlanner"]["Plan"])

    for query in ({"_id": "t-1"}, {"_id": "t-1", "executor": "a", "attempt": 1},
                  {"_id": {"$in": ["t-1", "t-2"]}, "executor": "a"}):
        assert "USING INDEX" in plan(query) and "__id_" in plan(query), query
    assert "SCAN" in plan({"executor": "a"})
    # the other fields still filter: the index only pre-selects
    assert coll.count_documents({"_id": {"$in": ["t-1", "t-2", "t-9"]}, "attempt": 1}) == 2
    assert coll.find_one({"_id": "t-1", "executor": "b"}) is None


# -- Redis -----------------------------------------------------------------------------------------


@pytest.fixture
def redis_client() -> Iterator[object]:
    """A client that connects lazily; tests check the server with ``_require_redis``."""
    import redis

    client = redis.Redis(host=HOST, port=REDIS_PORT, socket_timeout=5, socket_connect_timeout=5)
    yield client
    client.close()


def _require_redis(client) -> None:
    import redis

    _require_port("Redis", REDIS_PORT)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis on port {REDIS_PORT} does not answer PING ({exc}); {START_HINT}", pytrace=False)


def test_redis_key_with_ttl_expires(redis_client) -> None:
    _require_redis(redis_client)
    key = _unique("smoke:ttl")
    assert redis_client.set(key, "v", px=300)
    assert redis_client.get(key) == b"v"
    assert 0 < redis_client.pttl(key) <= 300
    time.sleep(0.5)
    assert redis_client.get(key) is None
    assert redis_client.exists(key) == 0


def test_redis_pipeline_runs_commands_in_one_round_trip(redis_client) -> None:
    _require_redis(redis_client)
    counter, items = _unique("smoke:counter"), _unique("smoke:list")
    try:
        pipe = redis_client.pipeline(transaction=True)
        pipe.set(counter, 1).incr(counter).incrby(counter, 5).rpush(items, "a", "b").lrange(items, 0, -1)
        pipe.get(counter)
        results = pipe.execute()
        assert results == [True, 2, 7, 2, [b"a", b"b"], b"7"]
    finally:
        redis_client.delete(counter, items)

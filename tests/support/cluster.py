"""A test's view of its isolated slice of the real services."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

from skalds.model.event import TaskEvent
from skalds.model.task import Task
from skalds.repository.repository import TaskRepository
from skalds.transport.kafka_events import KafkaEventPublisher, KafkaSettings
from skalds.transport.mongo_tasks import MongoTaskStore, mongo_client
from support.services import Endpoints

T = TypeVar("T")


class Cluster:
    def __init__(self, services: Endpoints, names: dict[str, str]) -> None:
        self.names = names
        self.kafka = KafkaSettings(bootstrap_servers=services.kafka_bootstrap, topic_prefix=names["topic_prefix"])
        self.publisher = KafkaEventPublisher(self.kafka)
        self.mongo = mongo_client(services.mongo_uri)
        self.store = MongoTaskStore(self.mongo, names["db_name"])
        self.repository = TaskRepository(self.store)
        self.redis = redis.Redis(host=services.host, port=services.redis_port, decode_responses=True)
        self.prefix = names["redis_prefix"]

    # --- events ---------------------------------------------------------------------------------
    def send(self, topic: str, key: str | None, value: bytes | str | None) -> None:
        """Publish raw bytes (for malformed-input tests) and wait for the broker's ack."""
        from confluent_kafka import Producer

        producer = Producer(self.kafka.client_config())
        producer.produce(self.kafka.topic(topic), key=key.encode() if key is not None else None,
                         value=value.encode() if isinstance(value, str) else value)
        assert producer.flush(10) == 0

    def send_event(self, topic: str, task_id: str, attempt: int | None = None, by_alias: bool = True) -> None:
        event = TaskEvent(task_ids=[task_id], attempt=attempt)
        self.publisher.publish(self.kafka.topic(topic), task_id, event.model_dump_json(by_alias=by_alias))
        self.publisher.flush(10)

    # --- tasks ----------------------------------------------------------------------------------
    def create(self, task_id: str, class_name: str, attachments: Any, executor: str | None = None) -> Task:
        task = Task(id=task_id, class_name=class_name, source="test", attachments=attachments)
        self.repository.create_task(task)
        if executor is not None:
            self.repository.update_executor(task_id, executor)
        return task

    def desire(self, task_id: str, desired: str) -> None:
        """Store what a user wants of the task (`desiredStatus`), as the API does, and send no event."""
        assert self.store.update(task_id, {"desiredStatus": desired}) is not None, f"task {task_id} not found"

    def create_raw(self, document: dict[str, Any]) -> None:
        self.store.insert(document)

    def doc(self, task_id: str) -> dict[str, Any]:
        document = self.store.get(task_id)
        assert document is not None, f"task {task_id} not in the store"
        return document

    def status(self, task_id: str) -> str | None:
        document = self.store.get(task_id)
        return document.get("lifecycleStatus") if document else None

    def wait_status(self, task_id: str, *statuses: str, timeout: float = 20.0) -> dict[str, Any]:
        return wait_for(lambda: (d := self.store.get(task_id)) and d.get("lifecycleStatus") in statuses and d,
                        timeout, f"task {task_id} to reach {statuses} (now {self.status(task_id)})")

    def history(self, task_id: str) -> list[dict[str, Any]]:
        return self.store.history(task_id)

    # --- live state -----------------------------------------------------------------------------
    def key(self, name: str) -> str | None:
        return self.redis.get(self.prefix + name)

    def hgetall(self, name: str) -> dict[str, str]:
        return self.redis.hgetall(self.prefix + name)

    def close(self) -> None:
        self.mongo.drop_database(self.names["db_name"])
        drop_topics(self.kafka)
        keys = list(self.redis.scan_iter(match=self.prefix + "*", count=1000))
        if keys:
            self.redis.delete(*keys)
        self.mongo.close()
        self.redis.close()


def drop_topics(kafka: KafkaSettings) -> None:
    """Delete the test's topics: a broker that keeps every test's partitions runs out of heap after a few runs."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(kafka.client_config())
    try:
        topics = [name for name in admin.list_topics(timeout=10).topics if name.startswith(kafka.topic_prefix)]
    except Exception:
        return  # the broker is gone (a test stopped it): nothing to clean
    if topics:
        for future in admin.delete_topics(topics, operation_timeout=10).values():
            with contextlib.suppress(Exception):  # deleted meanwhile, or the broker is busy: only housekeeping
                future.result(15)


def wait_for(check: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_records(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as file:
            return [json.loads(line) for line in file if line.strip()]
    except FileNotFoundError:
        return []

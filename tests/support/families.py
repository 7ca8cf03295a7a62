"""The two adapter families for the contract suite (tests/contract): real services or one SQLite file.

Adapters are built through `skalds.transport.factory` from a SkaldConfig, exactly as the node
and the controller build them, so the suite also checks that the configuration reaches them.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skalds.config.skald_config import SkaldConfig
from skalds.transport import factory
from skalds.transport.kafka_events import KafkaSettings
from skalds.transport.ports import Event, EventConsumer, EventPublisher, LiveState, TaskLogs, TaskStore
from support.cluster import drop_topics
from support.services import Endpoints

FAMILIES = ("services", "embedded")


class Family:
    """Builds adapters of one family on the test's isolated names, and closes them all afterwards."""

    def __init__(self, kind: str, config: SkaldConfig) -> None:
        self.kind = kind
        self.config = config
        self._opened: list[Any] = []

    @property
    def embedded(self) -> bool:
        return self.kind == "embedded"

    def topic(self, name: str) -> str:
        return factory.topic_name(self.config, name)

    def topics(self, *names: str) -> list[str]:
        full = [self.topic(name) for name in names]
        factory.prepare_topics(self.config, full)
        return full

    def publisher(self) -> EventPublisher:
        return self._keep(factory.build_publisher(self.config))

    def publish(self, topic: str, key: str, value: bytes | str, headers: dict[str, str] | None = None) -> None:
        publisher = getattr(self, "_publisher", None) or self.publisher()
        self._publisher = publisher
        publisher.publish(topic, key, value, headers)
        publisher.flush(10)

    def consumer(self, group: str, topics: list[str], timeout: float = 60.0) -> EventConsumer:
        """A consumer whose group owns its topics (Kafka assigns partitions during a poll)."""
        assigned = threading.Event()
        seen: list[list[str]] = []

        def on_assigned(names: list[str]) -> None:
            seen.append(names)
            if set(topics) <= set(names):
                assigned.set()

        consumer = self._keep(factory.build_consumer(self.config, group, topics, on_assigned=on_assigned))
        early: list[Event] = []  # Kafka may hand out a restarted group's events in the assigning poll
        deadline = time.monotonic() + timeout
        while not assigned.is_set():
            event = consumer.poll(0.1)
            if event is not None:
                early.append(event)
            assert time.monotonic() < deadline, f"group {group} not assigned {topics} within {timeout}s: {seen}"
        return _Replaying(consumer, early)

    def store(self) -> TaskStore:
        store = self._keep(factory.build_store(self.config))
        store.ensure_indexes()
        return store

    def live(self, key_prefix: str | None = None) -> LiveState:
        config = self.config if key_prefix is None else self.config.model_copy(
            update={"redis_key_prefix": key_prefix})
        return self._keep(factory.build_live(config))

    def logs(self) -> TaskLogs:
        return self._keep(factory.build_logs(self.config))

    def _keep(self, adapter: Any) -> Any:
        self._opened.append(adapter)
        return adapter

    def close(self, drop: Callable[[], None] | None) -> None:
        for adapter in reversed(self._opened):
            close = getattr(adapter, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
            client = getattr(adapter, "client", None)
            if client is not None and hasattr(client, "close"):
                with contextlib.suppress(Exception):
                    client.close()
        if drop is not None:
            drop()


class _Replaying:
    """A consumer that first returns the events received while waiting for its assignment."""

    def __init__(self, consumer: EventConsumer, early: list[Event]) -> None:
        self._consumer = consumer
        self._early = early

    def poll(self, timeout: float) -> Event | None:
        return self._early.pop(0) if self._early else self._consumer.poll(timeout)

    def commit(self, event: Event) -> None:
        self._consumer.commit(event)

    def close(self) -> None:
        self._consumer.close()


def services_config(services: Endpoints, names: dict[str, str]) -> SkaldConfig:
    return SkaldConfig(kafka_host=services.host, kafka_port=services.kafka_port,
                       kafka_topic_prefix=names["topic_prefix"], kafka_topic_partitions=1,
                       kafka_replication_factor=1, mongo_host=services.mongo_uri, db_name=names["db_name"],
                       redis_host=services.host, redis_port=services.redis_port,
                       redis_key_prefix=names["redis_prefix"])


def embedded_config(path: Path, names: dict[str, str]) -> SkaldConfig:
    return SkaldConfig(skalds_backend="embedded", skalds_embedded_path=str(path),
                       kafka_topic_prefix=names["topic_prefix"])


def drop_services(services: Endpoints, names: dict[str, str]) -> None:
    import redis

    from skalds.transport.mongo_tasks import mongo_client

    client = mongo_client(services.mongo_uri)
    try:
        client.drop_database(names["db_name"])
    finally:
        client.close()
    drop_topics(KafkaSettings(bootstrap_servers=services.kafka_bootstrap, topic_prefix=names["topic_prefix"]))
    connection = redis.Redis(host=services.host, port=services.redis_port)
    try:
        keys = list(connection.scan_iter(match=names["redis_prefix"] + "*", count=1000))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def drain(consumer: EventConsumer, count: int, timeout: float = 30.0) -> list[Event]:
    """The next `count` events (fails if they do not all arrive in time)."""
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while len(events) < count:
        assert time.monotonic() < deadline, f"only {len(events)} of {count} events arrived: {events}"
        event = consumer.poll(0.2)
        if event is not None:
            events.append(event)
    return events


def quiet(consumer: EventConsumer, seconds: float = 2.0) -> list[Event]:
    """Whatever arrives within `seconds` (used to show that nothing more comes)."""
    events: list[Event] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = consumer.poll(0.2)
        if event is not None:
            events.append(event)
    return events

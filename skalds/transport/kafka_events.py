"""Events port on Apache Kafka (confluent-kafka / librdkafka).

Producer: idempotent, acks=all, so an accepted event is not lost or duplicated by retries.
Consumer: one named group, manual commits after handling, so an event sent while a node
restarts is delivered when it is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from skalds.transport import event_headers
from skalds.transport.errors import EventBusUnavailableError
from skalds.transport.ports import Event
from skalds.transport.translate import translated, translating
from skalds.utils.logging import logger


@dataclass(frozen=True)
class KafkaSettings:
    """Connection settings. Security comes only from here, never from the host name."""

    bootstrap_servers: str = "localhost:9092"
    security_protocol: str | None = None
    sasl_mechanism: str = "PLAIN"
    username: str = ""
    password: str = field(default="", repr=False)
    ssl_ca_location: str = ""
    topic_prefix: str = ""

    def client_config(self) -> dict[str, Any]:
        protocol = self.security_protocol or ("SASL_SSL" if self.username else "PLAINTEXT")
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers, "security.protocol": protocol}
        if protocol.startswith("SASL"):
            config.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.username,
                           "sasl.password": self.password})
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        return config

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


def _translate(error: Exception) -> Exception | None:
    """confluent-kafka's failures (a fatal client error, a broker that does not answer) as the event port's."""
    if isinstance(error, KafkaException):
        return EventBusUnavailableError(f"the event bus (Kafka) failed: {error}")
    return None


@translated(_translate)
def check_kafka(settings: KafkaSettings, timeout: float = 3.0) -> int:
    """A metadata round trip; returns the broker count or raises."""
    admin = AdminClient({**settings.client_config(), "socket.connection.setup.timeout.ms": int(timeout * 1000)})
    metadata = admin.list_topics(timeout=timeout)
    if not metadata.brokers:
        raise EventBusUnavailableError(f"no Kafka broker answered at {settings.bootstrap_servers}")
    return len(metadata.brokers)


@translated(_translate)
def ensure_topics(settings: KafkaSettings, topics: Iterable[str], partitions: int = 1,
                  replication_factor: int = 1, timeout: float = 10.0) -> None:
    """Create missing topics (brokers may forbid auto-creation); existing ones are left as they are."""
    admin = AdminClient(settings.client_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [name for name in dict.fromkeys(topics) if name not in existing]
    if not wanted:
        return
    brokers = len(admin.list_topics(timeout=timeout).brokers)
    futures = admin.create_topics([NewTopic(name, partitions, min(replication_factor, max(1, brokers)))
                                   for name in wanted], operation_timeout=timeout)
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        logger.debug(f"Kafka topic created: {name}")
    _wait_for_leaders(admin, wanted, timeout)


def _wait_for_leaders(admin: AdminClient, topics: list[str], timeout: float) -> None:
    """New topics are usable once the broker reports a leader for every partition."""
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(timeout=timeout).topics
        if all(name in metadata and metadata[name].partitions and
               all(partition.leader >= 0 for partition in metadata[name].partitions.values())
               for name in topics):
            return
        if time.monotonic() > deadline:
            raise EventBusUnavailableError(f"Kafka topics {topics} have no leader after {timeout}s")
        time.sleep(0.1)


MAX_KEPT_ERRORS = 100


@translating(_translate)
class KafkaEventPublisher:
    """Publishes events; `publish` queues, `flush` waits until the broker acknowledged them."""

    def __init__(self, settings: KafkaSettings, extra: dict[str, Any] | None = None) -> None:
        self._settings = settings
        self._errors: list[str] = []
        self._undelivered = 0
        self._last_logged = 0.0
        self._lock = threading.Lock()
        self._producer = Producer({
            **settings.client_config(),
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 1,
            "compression.type": "lz4",
            "message.max.bytes": 10 * 1024 * 1024,
            **(extra or {}),
        })

    def _on_delivery(self, error: KafkaError | None, message: Any) -> None:
        if error is not None:
            text = f"event to {message.topic()} (key {message.key()!r}) was not delivered: {error}"
            self._undelivered += 1
            if time.monotonic() - self._last_logged >= 10.0:  # a long outage fails thousands: say it every 10 s
                self._last_logged = time.monotonic()
                logger.error(f"{text} ({self._undelivered} undelivered so far)")
            with self._lock:
                if len(self._errors) < MAX_KEPT_ERRORS:  # a producer nobody flushes must not grow
                    self._errors.append(text)

    def publish(self, topic: str, key: str, value: bytes | str, headers: Mapping[str, str] | None = None) -> None:
        """Queue the event, waiting while the client's queue is full."""
        while not self.offer(topic, key, value, headers):
            self._producer.poll(0.1)

    def offer(self, topic: str, key: str, value: bytes | str, headers: Mapping[str, str] | None = None) -> bool:
        """`publish` for writers that must never wait (a node's store writer): False when the client's queue is
        full, which happens only after the broker has been away for a long while."""
        if key is None or key == "":
            raise ValueError("an event needs a key (the task id)")
        try:
            self._producer.produce(topic, key=key.encode(), value=value.encode() if isinstance(value, str) else value,
                                   headers=list(headers.items()) if headers else None, on_delivery=self._on_delivery)
        except BufferError:
            return False
        self._producer.poll(0)
        return True

    def flush(self, timeout: float = 10.0) -> int:
        """Wait for delivery; raises if anything queued was refused or could not be sent in time."""
        remaining = self._producer.flush(timeout)
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise EventBusUnavailableError("; ".join(errors))
        if remaining:
            raise EventBusUnavailableError(f"{remaining} event(s) not delivered to Kafka within {timeout}s")
        return remaining

    def close(self) -> None:
        try:
            self._producer.flush(5)
        except Exception as error:  # closing must not raise
            logger.warning(f"Kafka producer flush on close failed: {error}")


def _end_offset(consumer: Consumer, partition: TopicPartition, timeout: float = 15.0) -> int:
    """The partition's end offset, retried while the client's metadata catches up with a new topic."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return consumer.get_watermark_offsets(partition, timeout=5)[1]
        except KafkaException as error:
            if time.monotonic() > deadline:
                raise
            logger.debug(f"end offset of {partition.topic} not available yet ({error}); retrying")
            time.sleep(0.2)


COMMIT_INTERVAL_MS = 200
OUTAGE_CODES = frozenset({KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE,
                          KafkaError._UNKNOWN_PARTITION, KafkaError.UNKNOWN_TOPIC_OR_PART})


@translating(_translate)
class KafkaEventConsumer:
    """A consumer group over several topics; an offset is committed only once `commit` was called for it.

    `commit` stores the offset; the client sends the stored offsets to the broker every
    COMMIT_INTERVAL_MS and on close, instead of one commit request per event (the broker
    wrote one `__consumer_offsets` record per task and spent more CPU on that than on the
    events). A node killed hard gets at most that interval of handled events again, which
    its handlers already treat as repeats.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        group_id: str,
        topics: list[str],
        *,
        on_assigned: Callable[[list[str]], None] | None = None,
        offset_reset: str = "earliest",
    ) -> None:
        self._on_assigned = on_assigned
        self.outages = 0  # times the client reported the brokers unreachable (readers may have missed events)
        self._last_error_logged = 0.0
        self._consumer = Consumer({
            "error_cb": self._on_error,
            **settings.client_config(),
            "group.id": group_id,
            "enable.auto.commit": True,  # commits only what `commit` stored
            "enable.auto.offset.store": False,
            "auto.commit.interval.ms": COMMIT_INTERVAL_MS,
            "auto.offset.reset": offset_reset,
            "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 1000,
            "fetch.wait.max.ms": 50,
            "topic.metadata.refresh.interval.ms": 10000,
            "max.partition.fetch.bytes": 10 * 1024 * 1024,
        })
        self._consumer.subscribe(topics, on_assign=self._assigned)

    def _on_error(self, error: KafkaError) -> None:
        """Client-wide errors (served inside `poll`); an outage is said at most every 10 s."""
        if error.code() in OUTAGE_CODES:
            self.outages += 1
        if time.monotonic() - self._last_error_logged >= 10.0:
            self._last_error_logged = time.monotonic()
            logger.warning(f"Kafka consumer: {error}")

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start a brand-new group at the current end, then fix that position by committing it.

        Without the commit, an event produced between this moment and the group's first
        commit would be skipped by a restart (`latest` is re-evaluated); with it, every
        event after the node became ready is delivered exactly from where it left off.
        """
        committed = consumer.committed(partitions, timeout=10)
        fresh: list[TopicPartition] = []
        for partition in committed:
            if partition.offset < 0:
                high = _end_offset(consumer, partition)
                partition.offset = high
                fresh.append(TopicPartition(partition.topic, partition.partition, high))
        consumer.assign(committed)
        logger.debug("assigned " + ", ".join(f"{p.topic}[{p.partition}]@{p.offset}" for p in committed))
        if fresh:
            consumer.commit(offsets=fresh, asynchronous=False)
        if self._on_assigned is not None:
            self._on_assigned(sorted({partition.topic for partition in partitions}))

    def poll(self, timeout: float) -> Event | None:
        message = self._consumer.poll(timeout)
        if message is None:
            return None
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return None
            if error.fatal():
                raise KafkaException(error)
            self._on_error(error)
            return None
        key = message.key()
        return Event(
            topic=message.topic(),
            key=key.decode("utf-8", errors="replace") if key is not None else None,
            value=message.value(),
            handle=message,
            headers=event_headers.bounded(message.headers()),
        )

    def commit(self, event: Event) -> None:
        try:
            self._consumer.store_offsets(message=event.handle)
        except KafkaException as error:
            logger.warning(f"Kafka commit of {event.topic} failed (the event may be delivered again): {error}")

    def close(self) -> None:
        try:
            self._consumer.close()
        except Exception as error:
            logger.warning(f"Kafka consumer close failed: {error}")

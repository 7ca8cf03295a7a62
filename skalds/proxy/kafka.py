"""0.3.8's `KafkaConfig`, `KafkaProxy`, `KafkaAdmin` and `KafkaTopic`, on confluent-kafka.

`KafkaProxy.produce` waits for the broker's acknowledgement, so a short script that
produces and exits does not lose its event (0.3.8 sent fire-and-forget).
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from confluent_kafka.admin import AdminClient

from skalds.config.environment import read_environment
from skalds.proxy._environment import pick, service_settings
from skalds.transport.kafka_events import (
    KafkaEventConsumer,
    KafkaEventPublisher,
    KafkaSettings,
    check_kafka,
    ensure_topics,
)
from skalds.transport.retry import wait_for_service
from skalds.transport.wire_names import KafkaTopic  # noqa: F401  (0.3.8 imported it from here)
from skalds.utils.logging import logger


class KafkaConfig:
    """0.3.8's keywords; one left out comes from the environment (KAFKA_HOST, KAFKA_PORT, ...), else
    0.3.8's default (localhost:9092, the consumer group SKALD_ID or a random `skalds-` id)."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        consume_topic_list: list[str] | None = None,
        consume_group_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        security_protocol: str | None = None,
        sasl_mechanism: str | None = None,
        ssl_ca_location: str | None = None,
        topic_prefix: str | None = None,
    ) -> None:
        env = service_settings()
        host = pick(host, env, "kafka_host", "localhost")
        port = pick(port, env, "kafka_port", 9092)
        self.host = host.strip() or "localhost"
        self.port = int(port) if port and int(port) > 0 else 9092
        self.consume_topic_list = list(consume_topic_list or [])
        self.consume_group_id = consume_group_id or read_environment().get("SKALD_ID") or \
            f"skalds-{secrets.token_hex(3)}"
        self.username = pick(username, env, "kafka_username", "")
        self.password = pick(password, env, "kafka_password", "")
        self.security_protocol = pick(security_protocol, env, "kafka_security_protocol", None)
        self.sasl_mechanism = pick(sasl_mechanism, env, "kafka_sasl_mechanism", "PLAIN")
        self.ssl_ca_location = pick(ssl_ca_location, env, "kafka_ssl_ca_location", "")
        self.topic_prefix = pick(topic_prefix, env, "kafka_topic_prefix", "")

    def settings(self) -> KafkaSettings:
        bootstrap = self.host if ":" in self.host or "," in self.host else f"{self.host}:{self.port}"
        return KafkaSettings(bootstrap_servers=bootstrap, security_protocol=self.security_protocol,
                             sasl_mechanism=self.sasl_mechanism, username=self.username, password=self.password,
                             ssl_ca_location=self.ssl_ca_location, topic_prefix=self.topic_prefix)


class KafkaProxy:
    """Producer (and, when topics and a group are configured, a consumer) for scripts."""

    def __init__(self, kafka_config: KafkaConfig | None = None, is_block: bool = True) -> None:
        kafka_config = kafka_config or KafkaConfig()  # no argument: the environment's Kafka (0.3.8: localhost)
        self.config = kafka_config
        self.host, self.port = kafka_config.host, kafka_config.port
        self.settings = kafka_config.settings()
        self.producer: KafkaEventPublisher | None = None
        self.consumer: KafkaEventConsumer | None = None
        self._ready = threading.Event()
        if is_block:
            self._connect()
        else:
            threading.Thread(target=self._connect, name="kafka-connect", daemon=True).start()

    def _connect(self) -> None:
        wait_for_service("Kafka", self.settings.bootstrap_servers, lambda: check_kafka(self.settings))
        self.producer = KafkaEventPublisher(self.settings)
        if self.config.consume_topic_list and self.config.consume_group_id:
            self.consumer = KafkaEventConsumer(
                self.settings, self.config.consume_group_id,
                [self.settings.topic(topic) for topic in self.config.consume_topic_list],
            )
        self._ready.set()

    def produce(self, topic_name: str, key: str, value: Any, timeout: float = 10.0) -> None:
        """Send one event and wait until Kafka has it; raises if it could not be delivered."""
        if not self._ready.wait(timeout) or self.producer is None:
            raise ConnectionError(f"Kafka at {self.settings.bootstrap_servers} is not connected")
        self.producer.publish(self.settings.topic(topic_name), key, value)
        self.producer.flush(timeout)
        logger.debug(f"produced event to {topic_name} with key {key}")

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close()
        if self.consumer is not None:
            self.consumer.close()


class KafkaAdmin:
    """0.3.8's topic administration (topic names get KAFKA_TOPIC_PREFIX, as `produce` gives them).

    As in 0.3.8, a failure is logged, not raised; a topic that exists already is a warning."""

    def __init__(self, kafka_config: KafkaConfig | None = None) -> None:
        kafka_config = kafka_config or KafkaConfig()
        self.host, self.port = kafka_config.host, kafka_config.port
        self.settings = kafka_config.settings()
        self.admin = AdminClient(self.settings.client_config())

    def create_topic(self, topic_name: str, partitions: int = 6, replication_factor: int | None = None) -> None:
        """Create the topic; replication defaults to KAFKA_REPLICATION_FACTOR (capped at the brokers)."""
        if replication_factor is None:
            replication_factor = service_settings().kafka_replication_factor
        try:
            ensure_topics(self.settings, [self.settings.topic(topic_name)], partitions, replication_factor)
        except Exception as error:
            logger.error(f"could not create topic {topic_name}: {error}")

    def delete_topic(self, topic_name: str, timeout: float = 10.0) -> None:
        name = self.settings.topic(topic_name)
        try:
            self.admin.delete_topics([name], operation_timeout=timeout)[name].result(timeout)
        except Exception as error:
            logger.error(f"could not delete topic {topic_name}: {error}")

    def disconnect(self) -> None:
        """Nothing to close: the admin client holds no connection between calls."""

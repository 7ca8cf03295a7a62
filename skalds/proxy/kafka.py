"""0.3.8's `KafkaConfig`, `KafkaProxy` and `KafkaTopic`, on confluent-kafka.

`KafkaProxy.produce` waits for the broker's acknowledgement, so a short script that
produces and exits does not lose its event (0.3.8 sent fire-and-forget).
"""

from __future__ import annotations

import threading
from typing import Any

from skalds.config.environment import read_environment
from skalds.transport.kafka_events import KafkaEventConsumer, KafkaEventPublisher, KafkaSettings, check_kafka
from skalds.transport.retry import wait_for_service
from skalds.transport.wire_names import KafkaTopic  # noqa: F401  (0.3.8 imported it from here)
from skalds.utils.logging import logger


class KafkaConfig:
    def __init__(
        self,
        host: str = "localhost",
        port: int = 9092,
        consume_topic_list: list[str] | None = None,
        consume_group_id: str | None = None,
        username: str = "",
        password: str = "",
        security_protocol: str | None = None,
        sasl_mechanism: str = "PLAIN",
        ssl_ca_location: str = "",
        topic_prefix: str | None = None,
    ) -> None:
        self.host = host or "localhost"
        self.port = int(port) if port and int(port) > 0 else 9092
        self.consume_topic_list = list(consume_topic_list or [])
        self.consume_group_id = consume_group_id
        self.username = username
        self.password = password
        self.security_protocol = security_protocol
        self.sasl_mechanism = sasl_mechanism
        self.ssl_ca_location = ssl_ca_location
        if topic_prefix is None:
            topic_prefix = read_environment().get("KAFKA_TOPIC_PREFIX", "")
        self.topic_prefix = topic_prefix

    def settings(self) -> KafkaSettings:
        bootstrap = self.host if ":" in self.host or "," in self.host else f"{self.host}:{self.port}"
        return KafkaSettings(bootstrap_servers=bootstrap, security_protocol=self.security_protocol,
                             sasl_mechanism=self.sasl_mechanism, username=self.username, password=self.password,
                             ssl_ca_location=self.ssl_ca_location, topic_prefix=self.topic_prefix)


class KafkaProxy:
    """Producer (and, when topics and a group are configured, a consumer) for scripts."""

    def __init__(self, kafka_config: KafkaConfig, is_block: bool = True) -> None:
        self.config = kafka_config
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

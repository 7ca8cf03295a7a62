"""Connection settings of the adapters, derived from a Skald's or a controller's configuration."""

from __future__ import annotations

from skalds.config._base import ServiceConfig
from skalds.transport.kafka_events import KafkaSettings
from skalds.transport.redis_state import RedisSettings


def kafka_settings(config: ServiceConfig) -> KafkaSettings:
    host = config.kafka_host
    bootstrap = host if ":" in host or "," in host else f"{host}:{config.kafka_port}"
    return KafkaSettings(bootstrap_servers=bootstrap, security_protocol=config.kafka_security_protocol,
                         sasl_mechanism=config.kafka_sasl_mechanism, username=config.kafka_username,
                         password=config.kafka_password, ssl_ca_location=config.kafka_ssl_ca_location,
                         topic_prefix=config.kafka_topic_prefix)


def redis_settings(config: ServiceConfig) -> RedisSettings:
    return RedisSettings(host=config.redis_host, port=config.redis_port, password=config.redis_password,
                         username=config.redis_username, db=config.redis_db, ssl=config.redis_ssl,
                         key_prefix=config.redis_key_prefix)

"""SkaldConfig: every keyword of 0.3.8 plus the settings its bugs lacked."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import Field, field_validator

from skalds.config._base import EnvBackedConfig
from skalds.config._enum import LogLevelEnum, SkaldEnvEnum, SkaldModeEnum


def generate_skald_id() -> str:
    return f"skalds-{secrets.token_hex(3)[:5]}"


class SkaldConfig(EnvBackedConfig):
    """Configuration of one Skald (node, edge or single_process).

    Example: ``SkaldConfig(skald_mode="node", skald_id="skald_123", kafka_host="127.0.0.1")``.
    """

    skald_id: str = Field(default_factory=generate_skald_id)
    skald_env: SkaldEnvEnum = SkaldEnvEnum.DEV
    skald_mode: SkaldModeEnum = SkaldModeEnum.NODE
    log_level: LogLevelEnum = LogLevelEnum.INFO
    log_path: str = "logs"
    log_retention: str = "3 days"
    log_rotation_mb: int = 10
    log_split_with_worker_id: bool = False
    log_json: bool = False
    redis_host: str = "localhost"
    redis_port: int = 6379
    redis_password: str = ""
    redis_username: str = ""
    redis_db: int = 0
    redis_ssl: bool = False
    redis_key_prefix: str = ""
    redis_sync_period: int = 3
    redis_key_ttl: int = 3600
    kafka_host: str = "localhost"
    kafka_port: int = 9092
    kafka_username: str = ""
    kafka_password: str = ""
    kafka_security_protocol: str | None = None
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_ssl_ca_location: str = ""
    kafka_topic_prefix: str = ""
    kafka_topic_partitions: int = 6
    kafka_replication_factor: int = 3
    mongo_host: str = "mongodb://root:root@localhost:27017/"
    db_name: str = "skalds"
    task_worker_retry: int = -1
    yaml_file: str = ""
    # Runtime behaviour (additive).
    heartbeat_period: float = 3.0
    cancel_request_timeout: float = 2.0
    cancel_grace_seconds: float = 10.0
    max_concurrent_tasks: int = 0
    ownership_check_period: float = 5.0

    @field_validator("skald_mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def kafka_enabled(self) -> bool:
        return bool(self.kafka_host)

    @property
    def redis_enabled(self) -> bool:
        return bool(self.redis_host)

    @property
    def mongo_enabled(self) -> bool:
        return bool(self.mongo_host)

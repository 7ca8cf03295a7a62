"""Shared machinery of SkaldConfig and SystemControllerConfig.

Every field can be given as a keyword argument; a keyword left at None falls back to the
environment variable of the same name in upper case (SKALD_ID, KAFKA_HOST, ...), then to
the default. Explicit empty strings for service hosts mean "disabled" (0.3.8 semantics).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skalds.config._enum import BackendEnum, LogLevelEnum, SkaldEnvEnum
from skalds.config.environment import read_environment

SECRET_FIELDS = frozenset({"redis_password", "kafka_password", "kafka_sasl_password", "api_admin_tokens",
                           "api_read_tokens"})


class EnvBackedConfig(BaseModel):
    model_config = ConfigDict(validate_assignment=True, validate_default=True, use_enum_values=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        environment = read_environment(data.pop("env_file", None))
        filled: dict[str, Any] = {}
        for name in cls.model_fields:
            value = data.get(name)
            if value is None:
                value = environment.get(name.upper())
            if value is not None:
                filled[name] = value
        unknown = set(data) - set(cls.model_fields)
        if unknown:
            raise ValueError(f"unknown configuration keyword(s): {', '.join(sorted(unknown))}")
        return filled

    def dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """All fields (0.3.8 API)."""
        return self.model_dump()

    def redacted(self) -> dict[str, Any]:
        """Fields safe to log: secrets replaced, credentials in URIs masked."""
        out: dict[str, Any] = {}
        for key, value in self.model_dump().items():
            if key in SECRET_FIELDS and value:
                out[key] = "******"
            elif isinstance(value, str) and "://" in value and "@" in value:
                out[key] = mask_uri_credentials(value)
            else:
                out[key] = value
        return out


def mask_uri_credentials(uri: str) -> str:
    """`mongodb://user:secret@host/` -> `mongodb://user:******@host/`."""
    scheme, _, rest = uri.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return uri
    user, colon, _password = credentials.partition(":")
    return f"{scheme}://{user}{':******' if colon else ''}@{host}"


class LoggingConfig(EnvBackedConfig):
    """The logging settings alone: what a worker started by hand (no node) reads, in its process."""

    log_level: LogLevelEnum = LogLevelEnum.INFO
    log_path: str = "logs"
    log_retention: str = "3 days"
    log_rotation_mb: int = 10
    log_split_with_worker_id: bool = False
    log_json: bool = False

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class ServiceConfig(LoggingConfig):
    """Logging and the three services: shared by SkaldConfig and SystemControllerConfig."""

    skald_env: SkaldEnvEnum = SkaldEnvEnum.DEV
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
    mongo_timeout_seconds: float = 10.0  # per operation; an API call waiting longer answers 503
    db_name: str = "skalds"
    # Which transport family (skalds/transport/factory.py): "auto" = the real services when a
    # KAFKA_HOST, MONGO_HOST or REDIS_HOST is configured, else the embedded SQLite file.
    skalds_backend: BackendEnum = BackendEnum.AUTO
    skalds_embedded_path: str = ""  # empty: $XDG_DATA_HOME/skalds/skalds.db (~/.local/share/skalds/skalds.db)
    # history entries kept per task: beyond it the oldest are dropped, a "history_truncated" entry says how
    # many; 0 = keep all
    task_history_limit: int = Field(default=1000, ge=0, le=10_000_000)

    @field_validator("skalds_backend", mode="before")
    @classmethod
    def _lower_backend(cls, value: Any) -> Any:
        return (value.strip().lower() or BackendEnum.AUTO.value) if isinstance(value, str) else value

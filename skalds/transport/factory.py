"""Chooses and builds the adapters of the three ports from a SkaldConfig or SystemControllerConfig.

The rule (design §4):
- SKALDS_BACKEND=services: Kafka + MongoDB + Redis (hosts from the configuration or their defaults);
- SKALDS_BACKEND=embedded: the SQLite file at SKALDS_EMBEDDED_PATH, even if hosts are configured;
- SKALDS_BACKEND=auto (default): the real services when KAFKA_HOST, MONGO_HOST or REDIS_HOST is given
  (keyword, environment or `.env`) with a non-empty value, else the embedded file.
The embedded file defaults to `$XDG_DATA_HOME/skalds/skalds.db` (`~/.local/share/skalds/skalds.db`):
one per user and machine, whatever the current directory, so every process finds the same file.
Each built adapter owns its connections; `close()` on it releases them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from skalds.config._base import ServiceConfig, mask_uri_credentials
from skalds.config._enum import BackendEnum
from skalds.transport.log_common import LogLimits
from skalds.transport.node_desires import NodeDesires
from skalds.transport.ports import EventConsumer, EventPublisher, LiveState, TaskLogs, TaskStore
from skalds.transport.sqlite_db import SqliteDatabase

SERVICE_HOSTS = ("kafka_host", "mongo_host", "redis_host")
EMBEDDED = BackendEnum.EMBEDDED.value
SERVICES = BackendEnum.SERVICES.value


def configured_hosts(config: ServiceConfig) -> list[str]:
    """Service host settings given explicitly (keyword, environment, `.env`) with a non-empty value."""
    return [name for name in SERVICE_HOSTS if name in config.model_fields_set and getattr(config, name)]


def choose_backend(config: ServiceConfig) -> str:
    """"embedded" or "services", by SKALDS_BACKEND and the configured hosts (see the module docstring)."""
    backend = config.skalds_backend
    if backend in (EMBEDDED, SERVICES):
        return backend
    return SERVICES if configured_hosts(config) else EMBEDDED


def is_embedded(config: ServiceConfig) -> bool:
    return choose_backend(config) == EMBEDDED


def default_embedded_path() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "skalds" / "skalds.db"


def embedded_path(config: ServiceConfig) -> Path:
    """SKALDS_EMBEDDED_PATH (`~` expanded) or the default file."""
    return Path(config.skalds_embedded_path).expanduser() if config.skalds_embedded_path \
        else default_embedded_path()


def open_database(config: ServiceConfig) -> SqliteDatabase:
    """A handle on the embedded file (connections open lazily, the schema on first use)."""
    return SqliteDatabase(embedded_path(config))


def describe(config: ServiceConfig) -> str:
    """One line for logs and the CLI: which family, and where."""
    if is_embedded(config):
        return f"embedded SQLite file {embedded_path(config)}"
    from skalds.transport.settings import kafka_settings, redis_settings

    return (f"services: Kafka {kafka_settings(config).bootstrap_servers}, MongoDB "
            f"{mask_uri_credentials(config.mongo_host)} (db {config.db_name}), Redis {redis_settings(config).where()}")


SHARED_BY_BOTH = frozenset({"kafka_topic_prefix", "redis_key_prefix", "redis_key_ttl"})  # the embedded file uses them


def settings_in_use(config: ServiceConfig) -> dict[str, object]:
    """The redacted settings for the startup log, without those of the backend not in use: on the embedded
    file no service's host, port or credentials; on the services no embedded path."""
    embedded = is_embedded(config)

    def unused(name: str) -> bool:
        if embedded:
            return name == "db_name" or (name.startswith(("kafka_", "redis_", "mongo_")) and name not in SHARED_BY_BOTH)
        return name == "skalds_embedded_path"

    return {name: value for name, value in config.redacted().items() if not unused(name)}


def where(config: ServiceConfig, port: str) -> tuple[str, str]:
    """(service name, location) of a port ("events", "store" or "live") for readiness log lines."""
    if is_embedded(config):
        return "embedded database", str(embedded_path(config))
    from skalds.transport.settings import kafka_settings, redis_settings

    return {"events": ("Kafka", kafka_settings(config).bootstrap_servers),
            "store": ("MongoDB", mask_uri_credentials(config.mongo_host)),
            "live": ("Redis", redis_settings(config).where())}[port]


# --- builders -------------------------------------------------------------------------------------
def build_store(config: ServiceConfig) -> TaskStore:
    if is_embedded(config):
        from skalds.transport.sqlite_tasks import SqliteTaskStore

        return SqliteTaskStore(open_database(config), history_limit=config.task_history_limit)
    from skalds.transport.mongo_tasks import MongoTaskStore, mongo_client

    return MongoTaskStore(mongo_client(config.mongo_host,
                                       operation_timeout_ms=int(config.mongo_timeout_seconds * 1000)),
                          config.db_name, history_limit=config.task_history_limit)


def build_node_desires(config: ServiceConfig) -> NodeDesires:
    """Cordons and drains, in the task store's family (they must outlive a live state that restarts empty)."""
    if is_embedded(config):
        from skalds.transport.node_desires import SqliteNodeDesires

        return SqliteNodeDesires(open_database(config))
    from skalds.transport.mongo_node_desires import MongoNodeDesires
    from skalds.transport.mongo_tasks import mongo_client

    return MongoNodeDesires(mongo_client(config.mongo_host,
                                         operation_timeout_ms=int(config.mongo_timeout_seconds * 1000)),
                            config.db_name)


def build_live(config: ServiceConfig) -> LiveState:
    if is_embedded(config):
        from skalds.transport.sqlite_state import SqliteLiveState

        return SqliteLiveState(open_database(config), config.redis_key_prefix)
    from skalds.transport.redis_state import RedisLiveState
    from skalds.transport.settings import redis_settings

    return RedisLiveState(redis_settings(config))


def build_publisher(config: ServiceConfig) -> EventPublisher:
    if is_embedded(config):
        from skalds.transport.sqlite_events import SqliteEventPublisher

        return SqliteEventPublisher(open_database(config))
    from skalds.transport.kafka_events import KafkaEventPublisher
    from skalds.transport.settings import kafka_settings

    return KafkaEventPublisher(kafka_settings(config))


def build_consumer(config: ServiceConfig, group_id: str, topics: list[str], *,
                   on_assigned: Callable[[list[str]], None] | None = None) -> EventConsumer:
    """A consumer group over `topics` (full names, prefix included); a new group starts at the end."""
    if is_embedded(config):
        from skalds.transport.sqlite_events import SqliteEventConsumer

        return SqliteEventConsumer(open_database(config), group_id, topics, on_assigned=on_assigned)
    from skalds.transport.kafka_events import KafkaEventConsumer
    from skalds.transport.settings import kafka_settings

    return KafkaEventConsumer(kafka_settings(config), group_id, topics, on_assigned=on_assigned)


def topic_name(config: ServiceConfig, topic: str) -> str:
    """The full topic name (KAFKA_TOPIC_PREFIX applies to both families)."""
    return f"{config.kafka_topic_prefix}{topic}"


def check_events(config: ServiceConfig) -> None:
    """Raise when the events port cannot be reached (readiness check)."""
    if is_embedded(config):
        database = open_database(config)
        try:
            database.ping()
        finally:
            database.close()
        return
    from skalds.transport.kafka_events import check_kafka
    from skalds.transport.settings import kafka_settings

    check_kafka(kafka_settings(config))


def prepare_topics(config: ServiceConfig, names: Iterable[str]) -> None:
    """Create missing Kafka topics; the embedded family needs none."""
    if is_embedded(config):
        return
    from skalds.transport.kafka_events import ensure_topics
    from skalds.transport.settings import kafka_settings

    ensure_topics(kafka_settings(config), list(names), partitions=config.kafka_topic_partitions,
                  replication_factor=config.kafka_replication_factor)


def build_logs(config: ServiceConfig, limits: LogLimits | None = None) -> TaskLogs:
    """Per-task logs: a capped Redis stream per task, or a capped table in the embedded file."""
    if is_embedded(config):
        from skalds.transport.sqlite_logs import SqliteTaskLogs

        return SqliteTaskLogs(open_database(config), limits)
    from skalds.transport.redis_logs import RedisTaskLogs
    from skalds.transport.settings import redis_settings

    return RedisTaskLogs(redis_settings(config), limits)

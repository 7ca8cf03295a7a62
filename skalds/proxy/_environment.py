"""What a 0.3.8 wrapper built without arguments connects to: the environment, else 0.3.8's default.

`KafkaProxy()`, `MongoProxy()` and `RedisProxy()` of 0.3.8 scripts read KAFKA_HOST, MONGO_HOST,
REDIS_HOST ... (and `.env`) like every other process, validated by the same configuration model;
a setting the environment does not give keeps the default 0.3.8's config classes had.
"""

from __future__ import annotations

from typing import Any

from skalds.config._base import ServiceConfig


def service_settings() -> ServiceConfig:
    """The service settings of the environment and `.env` (read now, never at import)."""
    return ServiceConfig()


def setting(config: ServiceConfig, name: str, default: Any) -> Any:
    """`name` as the environment gives it, else `default` (0.3.8's, which may differ from ours)."""
    return getattr(config, name) if name in config.model_fields_set else default


def pick(given: Any, config: ServiceConfig | None, name: str, default: Any) -> Any:
    """A keyword that was passed wins; one left at None comes from the environment, else `default`."""
    if given is not None:
        return given
    return setting(config or service_settings(), name, default)

"""Which client exceptions mean "a backing service is unreachable or too slow" (HTTP 503, retry later)
rather than a bug: pymongo's network and timeout errors, redis-py's connection and timeout errors,
Kafka delivery failures. (The embedded adapters raise ServiceUnavailableError themselves.)"""

from __future__ import annotations

import pymongo.errors
import redis.exceptions
from confluent_kafka import KafkaException

from skalds.transport.ports import ServiceUnavailableError

OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    ServiceUnavailableError,
    pymongo.errors.AutoReconnect,  # includes NetworkTimeout and ServerSelectionTimeoutError
    pymongo.errors.ExecutionTimeout,
    pymongo.errors.WTimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    KafkaException,
)


def service_of(error: BaseException) -> str:
    """A name for the service behind `error`, for messages a person reads."""
    module = type(error).__module__
    for prefix, name in (("pymongo", "the task store (MongoDB)"), ("redis", "live state (Redis)"),
                         ("cimpl", "the event broker (Kafka)"), ("confluent_kafka", "the event broker (Kafka)")):
        if module.startswith(prefix):
            return name
    return "a backing service"

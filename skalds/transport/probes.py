"""Round trips that prove a server really serves, for the development services' readiness checks.

Each answers a plain value and never raises: a server that is not there yet is the normal case
while `scripts/services` waits for it. Client libraries are imported on first use, so `status` and
`down` work in a Python without them.
"""

from __future__ import annotations

import logging
from typing import Any


def quiet_kafka_logger() -> logging.Logger:
    """A logger that swallows librdkafka's connection-refused chatter during the wait."""
    logger = logging.getLogger("skalds.devservices.probe")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


class KafkaBrokers:
    """Metadata request that must list at least one broker; one client reused across attempts."""

    def __init__(self, host: str, port: int) -> None:
        self.bootstrap = f"{host}:{port}"
        self._admin: Any = None

    def answer(self, timeout: float) -> bool:
        from confluent_kafka.admin import AdminClient

        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap, "logger": quiet_kafka_logger()})
        try:
            return bool(self._admin.list_topics(timeout=timeout).brokers)
        except Exception:
            return False


def _mongo_command(host: str, port: int, command: str, timeout: float, user: str | None = None,
                   password: str | None = None) -> dict[str, Any] | None:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    ms = max(int(timeout * 1000), 200)
    kwargs: dict[str, Any] = {"serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms}
    if user:
        kwargs.update(username=user, password=password, authSource="admin")
    client: MongoClient = MongoClient(host, port, **kwargs)
    try:
        return dict(client.admin.command(command))
    except PyMongoError:
        return None
    finally:
        client.close()


def mongo_ping(host: str, port: int, timeout: float, user: str | None = None, password: str | None = None) -> bool:
    """``ping``; with credentials the connection handshake also proves SCRAM login works."""
    answer = _mongo_command(host, port, "ping", timeout, user, password)
    return answer is not None and answer.get("ok") == 1


def mongo_version(host: str, port: int) -> str:
    """FerretDB says its own version in buildInfo; a real MongoDB only has ``version``."""
    info = _mongo_command(host, port, "buildInfo", 2.0)
    if info is None:
        return "?"
    if "ferretdbVersion" in info:
        return str(info["ferretdbVersion"]).lstrip("v")
    return f"mongodb {info.get('version', '?')}"


def _redis(host: str, port: int, timeout: float, call: str) -> Any:
    import redis

    client = redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return client.ping() if call == "ping" else client.info("server")
    except redis.RedisError:
        return None
    finally:
        client.close()


def redis_ping(host: str, port: int, timeout: float) -> bool:
    """``PING`` answered with ``PONG``."""
    return bool(_redis(host, port, timeout, "ping"))


def redis_version(host: str, port: int) -> str:
    info = _redis(host, port, 2.0, "info")
    return str(info.get("redis_version", "?")) if info else "?"

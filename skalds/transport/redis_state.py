"""Live-state port on Redis: pipelined writes, reads, and a lease for leader election."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from skalds.transport.errors import LiveStateUnavailableError
from skalds.transport.ports import LiveBatch, LiveReadBatch
from skalds.transport.translate import translating

_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW_IF_OWNER = """
local current = redis.call('get', KEYS[1])
if current == false then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1
elseif current == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2]) return 1
end
return 0
"""


@dataclass(frozen=True)
class RedisSettings:
    host: str = "localhost"
    port: int = 6379
    password: str = field(default="", repr=False)
    username: str = ""
    db: int = 0
    ssl: bool = False
    key_prefix: str = ""

    def where(self) -> str:
        return f"{self.host}:{self.port}/{self.db}"


def redis_client(settings: RedisSettings) -> redis.Redis:
    return redis.Redis(
        host=settings.host, port=settings.port, db=settings.db, password=settings.password or None,
        username=settings.username or None, ssl=settings.ssl, decode_responses=True,
        socket_timeout=5, socket_connect_timeout=3, health_check_interval=10, socket_keepalive=True,
    )  # redis-py >= 6 retries on timeouts by default


class _RedisBatch:
    def __init__(self, pipeline: redis.client.Pipeline, prefix: str) -> None:
        self._pipe = pipeline
        self._prefix = prefix

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._pipe.set(self._prefix + key, value, px=int(ttl * 1000) if ttl else None)

    def hset(self, key: str, field: str, value: str) -> None:
        self._pipe.hset(self._prefix + key, field, value)

    def hdel(self, key: str, field: str) -> None:
        self._pipe.hdel(self._prefix + key, field)

    def delete(self, key: str) -> None:
        self._pipe.delete(self._prefix + key)

    def replace_list(self, key: str, values: Sequence[str], ttl: float | None = None) -> None:
        full = self._prefix + key
        self._pipe.delete(full)
        if values:
            self._pipe.rpush(full, *values)
            if ttl:
                self._pipe.pexpire(full, int(ttl * 1000))


class _RedisReadBatch:
    def __init__(self, pipeline: redis.client.Pipeline, prefix: str) -> None:
        self._pipe = pipeline
        self._prefix = prefix

    def get(self, key: str) -> None:
        self._pipe.get(self._prefix + key)

    def hget(self, key: str, field: str) -> None:
        self._pipe.hget(self._prefix + key, field)

    def hgetall(self, key: str) -> None:
        self._pipe.hgetall(self._prefix + key)

    def lrange(self, key: str) -> None:
        self._pipe.lrange(self._prefix + key, 0, -1)


def redis_errors(what: str) -> Callable[[Exception], Exception | None]:
    """redis-py's connection and timeout errors as the ports' "unavailable" (`what`: which Redis user)."""
    def translate(error: Exception) -> Exception | None:
        if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
            return LiveStateUnavailableError(f"{what} (Redis) did not answer: {error}")
        return None
    return translate


@translating(redis_errors("live state"))
class RedisLiveState:
    """Every key is prefixed with `key_prefix` (empty in production, unique per test)."""

    def __init__(self, settings: RedisSettings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.client = client or redis_client(settings)
        self._prefix = settings.key_prefix
        self._release = self.client.register_script(_RELEASE_IF_OWNER)
        self._renew = self.client.register_script(_RENEW_IF_OWNER)

    def ping(self) -> bool:
        return bool(self.client.ping())

    def write(self, fill: Callable[[LiveBatch], None]) -> None:
        """Queue writes with `fill`, then send them in one round trip."""
        pipeline = self.client.pipeline(transaction=False)
        fill(_RedisBatch(pipeline, self._prefix))
        pipeline.execute()

    def read(self, fill: Callable[[LiveReadBatch], None]) -> list[Any]:
        """Queue reads with `fill`, then run them in one round trip."""
        pipeline = self.client.pipeline(transaction=False)
        fill(_RedisReadBatch(pipeline, self._prefix))
        return pipeline.execute()

    def get(self, key: str) -> str | None:
        return self.client.get(self._prefix + key)

    def mget(self, keys: Sequence[str]) -> list[str | None]:
        return self.client.mget([self._prefix + key for key in keys]) if keys else []

    def hgetall(self, key: str) -> dict[str, str]:
        return self.client.hgetall(self._prefix + key)

    def lrange(self, key: str) -> list[str]:
        return self.client.lrange(self._prefix + key, 0, -1)

    def acquire_lease(self, name: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease `name` for `owner`; False while someone else holds it."""
        return bool(self._renew(keys=[self._prefix + name], args=[owner, int(ttl * 1000)]))

    def release_lease(self, name: str, owner: str) -> None:
        self._release(keys=[self._prefix + name], args=[owner])

    def close(self) -> None:
        self.client.close()

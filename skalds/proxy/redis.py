"""0.3.8's `RedisKey`, `RedisConfig` and `RedisProxy` (key names are wire format)."""

from __future__ import annotations

from typing import Any

import redis as redis_lib

from skalds.proxy._environment import pick, service_settings
from skalds.transport.redis_state import RedisSettings, redis_client
from skalds.transport.retry import wait_for_service
from skalds.transport.wire_names import RedisKey  # noqa: F401  (0.3.8 imported it from here)
from skalds.utils.logging import logger


class RedisConfig:
    """A keyword left out comes from the environment (REDIS_HOST, REDIS_PORT, ...), else 0.3.8's default."""

    def __init__(self, host: str | None = None, port: int | None = None, password: str | None = None,
                 username: str | None = None, db: int | None = None, ssl: bool | None = None) -> None:
        env = service_settings()
        self.host = pick(host, env, "redis_host", "localhost").strip() or "localhost"
        port = pick(port, env, "redis_port", 6379)
        self.port = int(port) if port and int(port) > 0 else 6379
        self.password = pick(password, env, "redis_password", "")
        self.username = pick(username, env, "redis_username", "")
        self.db = pick(db, env, "redis_db", 0)
        self.ssl = pick(ssl, env, "redis_ssl", False)

    def settings(self, key_prefix: str = "") -> RedisSettings:
        return RedisSettings(host=self.host, port=self.port, password=self.password, username=self.username,
                             db=self.db, ssl=self.ssl, key_prefix=key_prefix)


class RedisProxy:
    """Convenience methods of 0.3.8; errors are logged and a neutral value returned, as before.

    Values come back as text, except `get_message`, which returns the stored bytes as 0.3.8 did."""

    def __init__(self, redis_config: RedisConfig | None = None, is_block: bool = True) -> None:
        redis_config = redis_config or RedisConfig()  # no argument: the environment's Redis (0.3.8: localhost)
        self.config = redis_config
        self.host, self.port = redis_config.host, redis_config.port
        self.client: redis_lib.Redis = redis_client(redis_config.settings())
        pool = self.client.connection_pool
        self._bytes_client = redis_lib.Redis(connection_pool=redis_lib.ConnectionPool(
            connection_class=pool.connection_class, **{**pool.connection_kwargs, "decode_responses": False}))
        if is_block:
            wait_for_service("Redis", redis_config.settings().where(), self.client.ping)

    def _safe(self, default: Any, action: Any) -> Any:
        try:
            return action()
        except redis_lib.RedisError as error:
            logger.warning(f"Redis operation failed: {error}")
            return default

    def flush_all(self) -> None:
        self._safe(None, self.client.flushall)

    def set_hash(self, key: str, field: str, value: Any, ttl: int = 0) -> None:
        def action() -> None:
            self.client.hset(key, field, value)
            if ttl > 0:
                self.client.expire(key, ttl)
        self._safe(None, action)

    def get_hash(self, key: str, field: str) -> Any:
        return self._safe(None, lambda: self.client.hget(key, field))

    def get_all_hash(self, root_key: str) -> dict[str, str]:
        return self._safe({}, lambda: self.client.hgetall(root_key))

    def delete_hash(self, key: str, field: str) -> None:
        self._safe(None, lambda: self.client.hdel(key, field))

    def push_list(self, key: str, value: Any, insert_head: bool = True, ttl: int = 0) -> None:
        def action() -> None:
            (self.client.rpush if insert_head else self.client.lpush)(key, value)  # 0.3.8's inverted naming
            if ttl > 0:
                self.client.expire(key, ttl)
        self._safe(None, action)

    def get_list(self, key: str, start: int = 0, end: int = -1) -> list[str]:
        return self._safe([], lambda: self.client.lrange(key, start, end))

    def overwrite_list(self, key: str, values: list[Any], ttl: int = 0) -> None:
        def action() -> None:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(key)
            if values:
                pipe.rpush(key, *values)
                if ttl > 0:
                    pipe.expire(key, ttl)
            pipe.execute()
        self._safe(None, action)

    def set_message(self, key: str, message: Any, expire: int = 0, ttl: int = 0) -> None:
        seconds = expire or ttl
        self._safe(None, lambda: self.client.set(key, message, ex=seconds or None))

    def get_message(self, key: str) -> bytes | None:
        return self._safe(None, lambda: self._bytes_client.get(key))

    def get_sub_keys(self, root_key: str) -> list[str]:
        return self._safe([], lambda: list(self.client.scan_iter(match=f"{root_key}*", count=500)))

    def get_subscribe(self, ignore_subscribe_messages: bool = True) -> Any:
        """A pub/sub object (0.3.8 API)."""
        return self._safe(None, lambda: self.client.pubsub(ignore_subscribe_messages=ignore_subscribe_messages))

    def publish_message(self, channel: str, message: Any, ttl: int = 0) -> int | None:
        return self._safe(None, lambda: self.client.publish(channel, message))

    def delete_key(self, key: str) -> int | None:
        return self._safe(None, lambda: self.client.delete(key))

    def close(self) -> None:
        self.client.close()
        self._bytes_client.close()

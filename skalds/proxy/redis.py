"""0.3.8's `RedisKey`, `RedisConfig` and `RedisProxy` (key names are wire format)."""

from __future__ import annotations

from typing import Any

import redis as redis_lib

from skalds.transport.redis_state import RedisSettings, redis_client
from skalds.transport.retry import wait_for_service
from skalds.transport.wire_names import RedisKey  # noqa: F401  (0.3.8 imported it from here)
from skalds.utils.logging import logger


class RedisConfig:
    def __init__(self, host: str = "localhost", port: int = 6379, password: str = "", username: str = "",
                 db: int = 0, ssl: bool = False) -> None:
        self.host = host or "localhost"
        self.port = int(port or 6379)
        self.password = password
        self.username = username
        self.db = db
        self.ssl = ssl

    def settings(self, key_prefix: str = "") -> RedisSettings:
        return RedisSettings(host=self.host, port=self.port, password=self.password, username=self.username,
                             db=self.db, ssl=self.ssl, key_prefix=key_prefix)


class RedisProxy:
    """Convenience methods of 0.3.8; errors are logged and a neutral value returned, as before."""

    def __init__(self, redis_config: RedisConfig, is_block: bool = True) -> None:
        self.config = redis_config
        self.client: redis_lib.Redis = redis_client(redis_config.settings())
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

    def get_all_hash(self, key: str) -> dict[str, str]:
        return self._safe({}, lambda: self.client.hgetall(key))

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

    def get_message(self, key: str) -> Any:
        return self._safe(None, lambda: self.client.get(key))

    def get_sub_keys(self, prefix: str) -> list[str]:
        return self._safe([], lambda: list(self.client.scan_iter(match=f"{prefix}*", count=500)))

    def publish_message(self, channel: str, message: Any, ttl: int = 0) -> None:
        self._safe(None, lambda: self.client.publish(channel, message))

    def delete_key(self, key: str) -> None:
        self._safe(None, lambda: self.client.delete(key))

    def close(self) -> None:
        self.client.close()

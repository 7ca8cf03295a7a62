"""0.3.8's `MongoConfig` and `MongoProxy`."""

from __future__ import annotations

from pymongo import MongoClient

from skalds.config._base import mask_uri_credentials
from skalds.proxy._environment import pick, service_settings
from skalds.transport.mongo_tasks import MongoTaskStore, mongo_client
from skalds.transport.retry import wait_for_service

DEFAULT_HOST = "mongodb://localhost:27017/"  # 0.3.8's default URI


class MongoConfig:
    """A keyword left out comes from the environment (MONGO_HOST, DB_NAME), else 0.3.8's default."""

    def __init__(self, host: str | None = None, db_name: str | None = None) -> None:
        env = service_settings()
        self.host = pick(host, env, "mongo_host", DEFAULT_HOST).strip() or DEFAULT_HOST
        self.db_name = pick(db_name, env, "db_name", "skalds") or "skalds"


class MongoProxy:
    """Holds the client (lazy: connects on first use, as pymongo does) and the task store."""

    def __init__(self, mongo_config: MongoConfig | None = None) -> None:
        mongo_config = mongo_config or MongoConfig()  # no argument: the environment's MongoDB
        self.config = mongo_config
        self.host, self.db_name = mongo_config.host, mongo_config.db_name
        self.client: MongoClient = mongo_client(mongo_config.host)
        self.db = self.client[mongo_config.db_name]
        self.store = MongoTaskStore(self.client, mongo_config.db_name)

    def init_db_index(self, is_block: bool = True) -> None:
        """Create the indexes; blocking mode waits (with log lines) until MongoDB answers."""
        if is_block:
            wait_for_service("MongoDB", mask_uri_credentials(self.config.host), self.store.ensure_indexes)
        else:
            self.store.ensure_indexes()

    def close(self) -> None:
        self.client.close()

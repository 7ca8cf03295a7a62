"""0.3.8's `MongoConfig` and `MongoProxy`."""

from __future__ import annotations

from pymongo import MongoClient

from skalds.config._base import mask_uri_credentials
from skalds.config.environment import read_environment
from skalds.transport.mongo_tasks import MongoTaskStore, mongo_client
from skalds.transport.retry import wait_for_service


class MongoConfig:
    def __init__(self, host: str = "mongodb://localhost:27017/", db_name: str | None = None) -> None:
        self.host = host or "mongodb://localhost:27017/"
        self.db_name = db_name or read_environment().get("DB_NAME") or "skalds"


class MongoProxy:
    """Holds the client (lazy: connects on first use, as pymongo does) and the task store."""

    def __init__(self, mongo_config: MongoConfig) -> None:
        self.config = mongo_config
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

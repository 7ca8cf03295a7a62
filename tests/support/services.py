"""Where the test services listen (ports from the same variables as scripts/services)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoints:
    kafka_port: int
    mongo_port: int
    redis_port: int
    host: str = "127.0.0.1"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def mongo_uri(self) -> str:
        return f"mongodb://root:root@localhost:{self.mongo_port}/"


def endpoints() -> Endpoints:
    return Endpoints(
        kafka_port=int(os.environ.get("SKALDS_KAFKA_PORT", "9092")),
        mongo_port=int(os.environ.get("SKALDS_MONGO_PORT", "27017")),
        redis_port=int(os.environ.get("SKALDS_REDIS_PORT", "6379")),
    )

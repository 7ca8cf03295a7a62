"""Where the benchmarks find the real services (same variables as scripts/services), and a check that
they answer before a run starts."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import redis
from confluent_kafka.admin import AdminClient
from pymongo import MongoClient


@dataclass(frozen=True)
class Endpoints:
    host: str
    kafka_port: int
    mongo_port: int
    redis_port: int
    mongo_user: str
    mongo_password: str

    @classmethod
    def from_env(cls) -> Endpoints:
        env = os.environ
        return cls(host=env.get("SKALDS_BENCH_HOST", "127.0.0.1"),
                   kafka_port=int(env.get("SKALDS_KAFKA_PORT", "9092")),
                   mongo_port=int(env.get("SKALDS_MONGO_PORT", "27017")),
                   redis_port=int(env.get("SKALDS_REDIS_PORT", "6379")),
                   mongo_user=env.get("SKALDS_MONGO_USER", "root"),
                   mongo_password=env.get("SKALDS_MONGO_PASSWORD", "root"))

    @property
    def kafka(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def mongo_uri(self) -> str:
        auth = f"{self.mongo_user}:{self.mongo_password}@" if self.mongo_user else ""
        return f"mongodb://{auth}{self.host}:{self.mongo_port}/"

    def check(self) -> dict[str, str]:
        """Fail early when a service is missing; returns what answered (versions)."""
        problems, found = [], {}
        try:
            metadata = AdminClient({"bootstrap.servers": self.kafka}).list_topics(timeout=5)
            found["kafka"] = f"{self.kafka} ({len(metadata.brokers)} broker)"
        except Exception as error:
            problems.append(f"Kafka at {self.kafka}: {error}")
        try:
            with contextlib.closing(MongoClient(self.mongo_uri, serverSelectionTimeoutMS=3000)) as client:
                info = client.admin.command("buildInfo")
                name = f"FerretDB {info['ferretdbVersion']}" if "ferretdbVersion" in info else "MongoDB"
                found["mongo"] = f"{name} (wire version {info.get('version')}) at {self.host}:{self.mongo_port}"
        except Exception as error:
            problems.append(f"MongoDB at {self.host}:{self.mongo_port}: {error}")
        try:
            client = redis.Redis(host=self.host, port=self.redis_port, socket_connect_timeout=3)
            version = client.info()["redis_version"]
            found["redis"] = f"Redis {version} at {self.host}:{self.redis_port}"
        except Exception as error:
            problems.append(f"Redis at {self.host}:{self.redis_port}: {error}")
        if problems:
            raise SystemExit("services not reachable (start them first: scripts/services up, with the same "
                             "SKALDS_*_PORT variables):\n  " + "\n  ".join(problems))
        return found

"""Protocol round trips that prove a server really serves, and a wait loop around them.

An open TCP port is not enough: Kafka binds its socket seconds before it can answer metadata
requests. The round trips themselves are `skalds.transport.probes` (the only place that talks to
the drivers), which imports the client libraries lazily so that ``status`` and ``down`` work even
in a Python without them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from skalds.transport import probes

from .config import HOST
from .errors import ServiceError
from .procs import port_open, tail

Probe = Callable[[float], bool]

CLIENT_PACKAGES = {"confluent_kafka": "confluent-kafka", "pymongo": "pymongo", "redis": "redis"}


def missing_clients() -> list[str]:
    """PyPI names of the client libraries the probes need that this Python lacks."""
    return [pkg for mod, pkg in CLIENT_PACKAGES.items() if importlib.util.find_spec(mod) is None]


class KafkaProbe:
    """Metadata request that must list at least one broker; one client reused across attempts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._brokers = probes.KafkaBrokers(HOST, port)

    def __call__(self, timeout: float) -> bool:
        return port_open(HOST, self.port) and self._brokers.answer(timeout)


def mongo_probe(port: int, user: str | None = None, password: str | None = None) -> Probe:
    """``ping``; with credentials the connection handshake also proves SCRAM login works."""
    return lambda timeout: port_open(HOST, port) and probes.mongo_ping(HOST, port, timeout, user, password)


def redis_probe(port: int) -> Probe:
    """``PING`` answered with ``PONG``."""
    return lambda timeout: port_open(HOST, port) and probes.redis_ping(HOST, port, timeout)


def wait_ready(service: str, probe: Probe, deadline_s: float, logs: list[Path],
               proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll ``probe`` until it succeeds; fail early if the server process exits.

    Returns the seconds waited. On failure the error names the service and shows the tail of
    each log, since that is where the reason is.
    """
    start = time.monotonic()
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(service, f"exited with code {proc.returncode} during startup:\n{_tails(logs)}",
                               logs[0])
        if probe(2.0):
            return time.monotonic() - start
        if time.monotonic() - start > deadline_s:
            raise ServiceError(service, f"not ready after {deadline_s:.0f}s:\n{_tails(logs)}", logs[0])
        time.sleep(0.3)


def _tails(logs: list[Path]) -> str:
    parts = []
    for log in logs:
        if log.exists() and log.stat().st_size > 0:
            parts.append(f"  --- last lines of {log} ---\n{tail(log)}")
    return "\n".join(parts) or "  (no log output)"

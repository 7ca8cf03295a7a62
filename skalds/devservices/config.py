"""Where things live and which ports they use, all overridable by environment variables.

| variable                       | default                                                        |
| ------------------------------ | -------------------------------------------------------------- |
| SKALDS_KAFKA_PORT              | 9092                                                           |
| SKALDS_KAFKA_CONTROLLER_PORT   | 9093                                                           |
| SKALDS_MONGO_PORT              | 27017                                                          |
| SKALDS_REDIS_PORT              | 6379                                                           |
| SKALDS_KAFKA_VERSION           | 3.9.1 (4.x also works; it switches logging to log4j2)          |
| SKALDS_FERRETDB_VERSION        | 1.24.2                                                         |
| SKALDS_MONGO_USER / _PASSWORD  | root / root (user created in FerretDB's admin database)        |
| SKALDS_STATE_DIR               | <checkout>/.state/services, else ~/.cache/skalds/state         |
| SKALDS_CACHE_DIR               | $XDG_CACHE_HOME/skalds or ~/.cache/skalds                      |

The state dir holds what belongs to one running set of services (configs, data, logs,
pid records); the cache dir holds what is expensive to make and shared by every checkout
(Kafka jars, the FerretDB binary), keyed by version.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


def _int_env(name: str, default: int) -> int:
    """Read a port from the environment, failing loudly on garbage rather than guessing."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SystemExit(f"[services] {name}={raw!r} is not a port number") from exc
    if not 0 < value < 65536:
        raise SystemExit(f"[services] {name}={value} is out of range")
    return value


def checkout_root() -> Path | None:
    """The source checkout this package was loaded from, or None when it is installed.

    A checkout is recognised by the pyproject.toml next to the ``skalds`` package, which an
    installed copy in site-packages does not have.
    """
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "skalds").is_dir():
        return root
    return None


def _cache_dir() -> Path:
    if env := os.environ.get("SKALDS_CACHE_DIR"):
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "skalds").resolve()


def _state_dir(cache: Path) -> Path:
    if env := os.environ.get("SKALDS_STATE_DIR"):
        return Path(env).expanduser().resolve()
    root = checkout_root()
    if root is not None:
        return root / ".state" / "services"
    return cache / "state"


@dataclass(frozen=True)
class Settings:
    """One resolved configuration, passed to every service so nothing reads the environment twice."""

    kafka_port: int
    kafka_controller_port: int
    mongo_port: int
    redis_port: int
    kafka_version: str
    ferretdb_version: str
    mongo_user: str
    mongo_password: str
    state_dir: Path
    cache_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        cache = _cache_dir()
        return cls(
            kafka_port=_int_env("SKALDS_KAFKA_PORT", 9092),
            kafka_controller_port=_int_env("SKALDS_KAFKA_CONTROLLER_PORT", 9093),
            mongo_port=_int_env("SKALDS_MONGO_PORT", 27017),
            redis_port=_int_env("SKALDS_REDIS_PORT", 6379),
            kafka_version=os.environ.get("SKALDS_KAFKA_VERSION", "").strip() or "3.9.1",
            ferretdb_version=os.environ.get("SKALDS_FERRETDB_VERSION", "").strip().lstrip("v") or "1.24.2",
            mongo_user=os.environ.get("SKALDS_MONGO_USER", "root"),
            mongo_password=os.environ.get("SKALDS_MONGO_PASSWORD", "root"),
            state_dir=_state_dir(cache),
            cache_dir=cache,
        )

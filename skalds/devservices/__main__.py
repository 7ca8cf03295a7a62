"""``python -m skalds.devservices up|down|reset|status [service ...]`` (what scripts/services runs).

``down`` stops the servers and keeps their data (the next ``up`` continues with it); ``reset``
stops them and deletes it.

Exit codes: 0 success; 1 a service failed to start or stop; 2 bad usage; 3 ``status`` found a
service not running.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from .cache import file_lock
from .config import Settings
from .console import say
from .errors import ServiceError
from .ferretdb import FerretDB
from .kafka import Kafka
from .readiness import missing_clients
from .redis_server import Redis
from .service import Service, Status

ALIASES = {"kafka": "kafka", "ferretdb": "ferretdb", "mongo": "ferretdb", "mongodb": "ferretdb", "redis": "redis"}


def build_services(settings: Settings, names: list[str]) -> list[Service]:
    """Services in start order; an empty ``names`` means all of them."""
    all_services: list[Service] = [Redis(settings), FerretDB(settings), Kafka(settings)]
    wanted = {ALIASES[n] for n in names} if names else {s.name for s in all_services}
    return [s for s in all_services if s.name in wanted]


def cmd_up(services: list[Service]) -> int:
    """Start in parallel: the cold Go build, the Maven fetch and the JVM start overlap."""
    start = time.monotonic()
    failures: list[ServiceError] = []
    with ThreadPoolExecutor(max_workers=len(services) or 1) as pool:
        futures = {pool.submit(s.up): s for s in services}
        for future, service in futures.items():
            try:
                future.result()
            except ServiceError as exc:
                failures.append(exc)
            except Exception as exc:  # a bug or an unexpected OS error: still name the service
                failures.append(ServiceError(service.name, f"{type(exc).__name__}: {exc}", service.log))
    for exc in failures:
        print(f"[services] ERROR {exc}", file=sys.stderr, flush=True)
    if failures:
        names = ", ".join(exc.service for exc in failures)
        say("", f"up FAILED for {names} after {time.monotonic() - start:.1f}s")
        return 1
    say("", f"up: all services ready in {time.monotonic() - start:.1f}s")
    return 0


def cmd_down(services: list[Service], wipe: bool = False) -> int:
    rc = 0
    for service in reversed(services):
        try:
            service.reset() if wipe else service.down()
        except (ServiceError, OSError) as exc:
            print(f"[services] ERROR {service.name}: {exc}", file=sys.stderr, flush=True)
            rc = 1
    return rc


def cmd_status(services: list[Service], settings: Settings) -> int:
    with ThreadPoolExecutor(max_workers=len(services) or 1) as pool:
        rows: list[Status] = list(pool.map(lambda s: s.status(), services))
    table = [("SERVICE", "STATE", "PORT", "VERSION", "PID")]
    table += [(r.name, r.state, str(r.port), r.version, str(r.pid) if r.pid else "-") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"state dir: {settings.state_dir}")
    print(f"cache dir: {settings.cache_dir}")
    return 0 if all(r.ok for r in rows) else 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/services",
        description="Install (first time, cached) and run Kafka, FerretDB (MongoDB wire) and Redis on 127.0.0.1.",
        epilog="Environment: SKALDS_KAFKA_PORT, SKALDS_KAFKA_CONTROLLER_PORT, SKALDS_MONGO_PORT, "
               "SKALDS_REDIS_PORT, SKALDS_KAFKA_VERSION, SKALDS_STATE_DIR, SKALDS_CACHE_DIR "
               "(see skalds/devservices/config.py).",
    )
    parser.add_argument("command", choices=["up", "down", "reset", "status"],
                        help="down keeps the data; reset stops and deletes it")
    parser.add_argument("services", nargs="*", metavar="service",
                        help="kafka, ferretdb (alias mongo) or redis; default: all")
    args = parser.parse_args(argv)
    unknown = [n for n in args.services if n not in ALIASES]
    if unknown:
        parser.error(f"unknown service {', '.join(unknown)} (choose from kafka, ferretdb, mongo, redis)")
    if missing := missing_clients():
        print(f"[services] ERROR {sys.executable} lacks {', '.join(missing)}, needed for readiness checks. "
              "Create the venv (python3 -m venv .venv && .venv/bin/pip install -e '.[dev]') "
              "or point SKALDS_PYTHON at a Python that has them.", file=sys.stderr)
        return 1
    settings = Settings.from_env()
    services = build_services(settings, args.services)
    if args.command == "status":
        return cmd_status(services, settings)
    # two up/down runs on one state dir (say, parallel CI steps) would race for ports and pid records
    with file_lock(settings.state_dir / ".lock"):
        if args.command == "up":
            return cmd_up(services)
        return cmd_down(services, wipe=args.command == "reset")


if __name__ == "__main__":
    sys.exit(main())

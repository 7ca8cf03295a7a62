"""Start Skalds 0.3.8's System Controller the way its spec (§10.1) says, with timing probes.

Run with the baseline venv's python (see bench/setup_baseline.sh), from a directory that is
not this repository (0.3.8 reads `.env` and its settings from the environment at import:
MONGO_HOST, DB_NAME, REDIS_HOST/PORT, KAFKA_HOST/PORT, SYSTEM_CONTROLLER_HOST/PORT, ...).

    python controller_run_038.py TIMING_FILE [MODE]      # MODE: DISPATCHER (default) or MONITOR

The only change to 0.3.8 is instrumentation: SkaldMonitor._monitor_skalds,
TaskMonitor._monitor_tasks, TaskMonitor._initialize_task_sync and Dispatcher._dispatch_tasks
are wrapped to append `{"what", "ms", "ts"}` lines to TIMING_FILE; behaviour is unchanged.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time


def _record(path: str, what: str, began: float) -> None:
    line = json.dumps({"what": what, "ms": (time.perf_counter() - began) * 1000, "ts": time.time()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _timed_sync(path: str, what: str, function):  # type: ignore[no-untyped-def]
    @functools.wraps(function)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _record(path, what, began)
    return wrapper


def _timed_async(path: str, what: str, function):  # type: ignore[no-untyped-def]
    @functools.wraps(function)
    async def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            _record(path, what, began)
    return wrapper


def main() -> None:
    timing = sys.argv[1]
    mode_name = sys.argv[2] if len(sys.argv) > 2 else "DISPATCHER"

    from skalds.config._enum import SystemControllerModeEnum
    from skalds.config.system_controller_config import SystemControllerConfig
    from skalds.system_controller.main import SystemController
    from skalds.system_controller.monitor.dispatcher import Dispatcher
    from skalds.system_controller.monitor.skald_monitor import SkaldMonitor
    from skalds.system_controller.monitor.task_monitor import TaskMonitor

    SkaldMonitor._monitor_skalds = _timed_sync(timing, "skald_monitor", SkaldMonitor._monitor_skalds)
    TaskMonitor._monitor_tasks = _timed_async(timing, "task_monitor", TaskMonitor._monitor_tasks)
    TaskMonitor._initialize_task_sync = _timed_async(timing, "initial_sync", TaskMonitor._initialize_task_sync)
    Dispatcher._dispatch_tasks = _timed_async(timing, "dispatcher", Dispatcher._dispatch_tasks)

    mode = SystemControllerModeEnum[mode_name]
    SystemController(SystemControllerConfig(system_controller_mode=mode)).run()


if __name__ == "__main__":
    main()

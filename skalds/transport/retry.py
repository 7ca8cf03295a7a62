"""Waiting for a service that is not up yet, with a clear log line per attempt."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from skalds.transport.ports import MisconfiguredError
from skalds.utils.logging import logger

T = TypeVar("T")


def wait_for_service(
    name: str,
    where: str,
    attempt: Callable[[], T],
    *,
    stop: threading.Event | None = None,
    deadline: float | None = None,
    max_delay: float = 5.0,
) -> T:
    """Call `attempt` until it succeeds, logging each failure; never gives up unless told to.

    `deadline` is a duration in seconds; when it passes, the last error is raised. A
    MisconfiguredError is raised at once: only a change of configuration fixes it.
    """
    delay, tries, started = 0.25, 0, time.monotonic()
    while True:
        tries += 1
        try:
            result = attempt()
            if tries > 1:
                logger.success(f"{name} at {where} is reachable (after {tries} attempts)")
            return result
        except MisconfiguredError:
            raise
        except Exception as error:
            if deadline is not None and time.monotonic() - started >= deadline:
                raise
            logger.warning(f"{name} at {where} is not reachable (attempt {tries}): {error}; retrying in {delay:.1f}s")
        if stop is not None and stop.wait(delay):
            raise InterruptedError(f"stopped while waiting for {name}")
        if stop is None:
            time.sleep(delay)
        delay = min(max_delay, delay * 2)

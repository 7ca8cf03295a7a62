"""Progress lines on stderr, so CI logs show which phase is slow or stuck."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()


def say(service: str, message: str) -> None:
    """Print one ``[services] <service>: <message>`` line; services start in parallel threads."""
    prefix = f"[services] {service}: " if service else "[services] "
    with _lock:
        print(prefix + message, file=sys.stderr, flush=True)


@contextmanager
def phase(service: str, what: str) -> Iterator[None]:
    """Announce a phase and report how long it took (or that it failed after how long)."""
    say(service, what)
    start = time.monotonic()
    try:
        yield
    except BaseException:
        say(service, f"{_short(what)} failed after {time.monotonic() - start:.1f}s")
        raise
    say(service, f"{_short(what)} done in {time.monotonic() - start:.1f}s")


def _short(what: str) -> str:
    """Drop the '(first time, ~2 min)' hints from a phase name when reporting its end."""
    return what.split(" (", 1)[0]

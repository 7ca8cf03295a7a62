"""`report_progress` inside the worker: checked at once, kept, and sent coalesced.

A call only checks its arguments and keeps the newest values (under a lock, never waiting on the
pipe); a thread started on the first report sends them to the supervisor at most once per
SEND_INTERVAL, so a worker may report in a tight loop. Without a supervisor (a worker started by
hand, or a test) the values are only kept (`latest`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from skalds.model._time import now_ms
from skalds.model.progress import check_fraction, check_message, check_metrics
from skalds.worker.protocol import Progress

SEND_INTERVAL = 0.25  # seconds between two sends: at most 4 a second


class ProgressReporter:
    def __init__(self, send: Callable[[Progress], None] | None, interval: float = SEND_INTERVAL) -> None:
        self._send = send
        self._interval = interval
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # one send at a time, so an older value never lands last
        self._latest: Progress | None = None
        self._dirty = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.sends = 0

    def report(self, fraction: object = None, message: object = None, metrics: dict[str, object] | None = None) -> None:
        """Keep the new values: a fraction or message left None keeps the last one, metrics merge by name."""
        fraction, message = check_fraction(fraction), check_message(message)
        with self._lock:
            last = self._latest
            merged = check_metrics(metrics or {}, last.metrics if last is not None else None)
            if last is not None:
                fraction = last.fraction if fraction is None else fraction
                message = last.message if message is None else message
            self._latest = Progress(fraction, message, merged, now_ms())
            self._dirty = True
            if self._send is None:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="skalds-progress", daemon=True)
                self._thread.start()
        self._wake.set()

    def latest(self) -> Progress | None:
        with self._lock:
            return self._latest

    def flush(self) -> None:
        """Send what is not sent yet, now (before the outcome, so the node has the last value)."""
        with self._send_lock:
            with self._lock:
                pending, self._dirty = (self._latest if self._dirty else None), False
            if pending is not None and self._send is not None:
                self._send(pending)
                self.sends += 1

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self.flush()
            time.sleep(self._interval)

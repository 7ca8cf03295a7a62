"""The output of `skalds dev`'s children, copied to its stderr line by line by one thread per child.

Until the system is up a child's lines are held back (the last few hundred are kept), so that the person
sees a short start and then the dashboard's address; a child that dies while starting has its held lines
printed, so its own explanation is never lost. Everything is also in the log files (LOG_PATH).
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from typing import IO

HELD_LINES = 400


class OutputRelay:
    def __init__(self, stream: IO[bytes], hold: bool, sink: IO[bytes] | None = None) -> None:
        self._stream = stream
        self._sink = sink if sink is not None else sys.stderr.buffer
        self._held: deque[bytes] | None = deque(maxlen=HELD_LINES) if hold else None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._copy, name="skalds-dev-relay", daemon=True)
        self._thread.start()

    def _write(self, line: bytes) -> None:
        try:
            self._sink.write(line)
            self._sink.flush()
        except (OSError, ValueError):  # our own stderr closed: the child must still be read to the end
            pass

    def _copy(self) -> None:
        for line in iter(self._stream.readline, b""):
            with self._lock:
                if self._held is not None:
                    self._held.append(line)
                else:
                    self._write(line)
        self._stream.close()

    def release(self) -> None:
        """From now on copy each line as it comes; the lines held so far are dropped (they are in the logs)."""
        with self._lock:
            self._held = None

    def show_held(self) -> None:
        """Print what was held back (a child that failed to start), then copy live."""
        with self._lock:
            for line in self._held or ():
                self._write(line)
            self._held = None

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

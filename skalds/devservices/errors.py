"""The one error type the CLI turns into a clear message and a non-zero exit."""

from __future__ import annotations

from pathlib import Path


class ServiceError(RuntimeError):
    """A service could not be installed, started or stopped.

    Carries the service name and the log to look at, because "Kafka did not start" is useless
    in a CI log without the broker's own last words.
    """

    def __init__(self, service: str, message: str, log: Path | None = None) -> None:
        self.service = service
        self.log = log
        text = f"{service}: {message}"
        if log is not None:
            text += f" (log: {log})"
        super().__init__(text)

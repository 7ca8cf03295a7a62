"""When may the monitor judge a task lost? Only on evidence: a heartbeat seen to stop.

A missing heartbeat key is evidence of death only if live state could have held it. Right after the
controller starts, takes the lead, lost its live-state connection, or finds live state empty again
(Redis restarted without its data), every node needs one heartbeat period to write its keys again;
until a full heartbeat timeout has passed since such a moment, no task is declared lost.
"""

from __future__ import annotations

import time

from skalds.utils.logging import logger


class LivenessEvidence:
    def __init__(self, heartbeat_timeout: float, now: float | None = None) -> None:
        self.timeout = heartbeat_timeout
        self.grace_until = 0.0
        self.reason = ""
        self.begin("the controller started", now)

    def begin(self, reason: str, now: float | None = None) -> None:
        """No verdicts for one heartbeat timeout from now: nodes re-report first."""
        moment = time.monotonic() if now is None else now
        if moment + self.timeout > self.grace_until:
            if moment >= self.grace_until:
                logger.info(f"liveness verdicts wait {self.timeout:.0f}s: {reason}")
            self.grace_until, self.reason = moment + self.timeout, reason

    def allows_verdicts(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.grace_until

"""From the way a worker process ended to what is recorded for its task: a pure function.

Inputs are what the reactor saw: the outcome the worker reported on its pipe (if it got that far),
the process exit code and why the node was stopping it. A stop that releases the task
(`RELEASING_STOPS`: the node shuts down, lost the task, a newer attempt supersedes it or the node
fenced itself) records no Cancelled: the task lives on elsewhere or later. Nor does a worker that
fenced itself (exit code FENCED: its supervisor fell silent or its pipe closed).
"""

from __future__ import annotations

from dataclasses import dataclass

from skalds.model.task import HeartbeatCode, TaskLifecycleStatus
from skalds.worker.protocol import Outcome, OutcomeReport, outcome_for_exit_code

RELEASING_STOPS = frozenset({"shutdown", "drain", "lost", "superseded", "fenced"})  # stops that record no Cancelled
GIVING_BACK = {"shutdown": "node shutdown", "drain": "drain"}  # releases that hand the task back (history reason)

_RECORDED = {
    Outcome.FINISHED: (TaskLifecycleStatus.Finished, HeartbeatCode.FINISHED),
    Outcome.CANCELLED: (TaskLifecycleStatus.Cancelled, HeartbeatCode.CANCELLED),
    Outcome.FAILED: (TaskLifecycleStatus.Failed, HeartbeatCode.FAILED),
}


@dataclass(frozen=True)
class ExitVerdict:
    """What to record for an exit; `status` None means released: nothing is recorded."""

    status: TaskLifecycleStatus | None
    heartbeat: HeartbeatCode | None = None
    error: str | None = None

    @property
    def released(self) -> bool:
        return self.status is None

    @property
    def error_line(self) -> str:
        """The error's last line (the exception itself), for the live-state exception key and the log."""
        return self.error.strip().splitlines()[-1] if self.error and self.error.strip() else ""


def judge_exit(reported: OutcomeReport | None, exit_code: int | None, stop_reason: str | None,
               exit_description: str) -> ExitVerdict:
    """The verdict for one exit. `exit_description` (e.g. "killed by signal 9 (SIGKILL)") goes into
    the error of a worker that ended without reporting how."""
    outcome = reported.outcome if reported is not None else outcome_for_exit_code(exit_code)
    error = reported.error if reported is not None else None
    if reported is None and outcome == Outcome.FAILED:
        error = f"worker process ended without reporting an outcome: {exit_description}"
        if stop_reason is not None:  # killed while being stopped: the stop is what happened
            outcome = Outcome.CANCELLED
    if outcome == Outcome.FENCED or (outcome == Outcome.CANCELLED and stop_reason in RELEASING_STOPS):
        return ExitVerdict(status=None)
    status, heartbeat = _RECORDED.get(outcome, _RECORDED[Outcome.FAILED])
    return ExitVerdict(status=status, heartbeat=heartbeat, error=error)

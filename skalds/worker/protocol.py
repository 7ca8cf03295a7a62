"""Messages on the pipe between a node's supervisor and one worker process, and exit codes.

Supervisor -> worker: `Update` (versioned attachments), `Cancel`, `KeepAlive` (every keep-alive
period: a worker whose supervisor falls silent fences itself, see `watchdog`), `Fence` (stop now),
`CheckpointRequest` (run @checkpoint_handler before a release).
Worker -> supervisor: `Started`, `Running` (main hook entered), `UpdateResult` (applied or not),
`OutcomeReport`, `Checkpoint` (a save), `CheckpointHandled` (the answer to a `CheckpointRequest`),
`Progress` (the latest `report_progress`, coalesced). Each is a small frozen dataclass (pickled by the
pipe; slots keep it cheap); attachments travel as JSON-ready dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Outcome:
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    FENCED = "fenced"  # stopped at once because its supervisor fell silent or told it to: a release


@dataclass(frozen=True, slots=True)
class Update:
    """New attachments for the running task (supervisor -> worker)."""

    version: int
    attachments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Cancel:
    """Stop cooperatively (supervisor -> worker); SIGTERM follows if the worker does not."""

    reason: str


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """The supervisor is alive (supervisor -> worker, every keep-alive period)."""


@dataclass(frozen=True, slots=True)
class Fence:
    """Stop at once, without hooks (supervisor -> worker): the node cannot prove it is alive."""

    reason: str


@dataclass(frozen=True, slots=True)
class Started:
    """The worker process runs the task (worker -> supervisor)."""

    pid: int


@dataclass(frozen=True, slots=True)
class Running:
    """The main hook is entered: the task counts as Running from now on."""


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """Whether the worker applied attachments `version`: `error` says why not (None: applied)."""

    version: int
    error: str | None = None

    @property
    def applied(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class OutcomeReport:
    """How the task ended, sent after the release hooks (`outcome` is one of `Outcome`)."""

    outcome: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The task's progress, saved by the worker (worker -> supervisor): `state` is the JSON text, already
    size-checked in the worker; `saved_at` ms since the epoch. The node writes it for the attempt it holds."""

    state: str
    size_bytes: int
    saved_at: int


@dataclass(frozen=True, slots=True)
class CheckpointRequest:
    """Run the @checkpoint_handler now (supervisor -> worker): the task is about to be released."""

    reason: str


@dataclass(frozen=True, slots=True)
class CheckpointHandled:
    """The @checkpoint_handler returned (or there is none); every save it made was sent before this."""

    error: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """The worker's latest progress (worker -> supervisor; at most a few a second, the newest wins)."""

    fraction: float | None
    message: str | None
    metrics: dict[str, float]
    at: int  # ms since the epoch: when the worker reported it


ToWorker = Update | Cancel | KeepAlive | Fence | CheckpointRequest
ToSupervisor = Started | Running | UpdateResult | OutcomeReport | Checkpoint | CheckpointHandled | Progress


class ExitCode(IntEnum):
    """Process exit status of a worker: a Kubernetes Job sees anything but 0 as failure."""

    FINISHED = 0
    FAILED = 1
    CANCELLED = 143  # 128 + SIGTERM, the shell convention for "terminated"
    FENCED = 75  # EX_TEMPFAIL: stopped itself, its supervisor silent or gone; the task lives on elsewhere


def outcome_for_exit_code(code: int | None) -> str:
    if code == ExitCode.FINISHED:
        return Outcome.FINISHED
    if code == ExitCode.CANCELLED:
        return Outcome.CANCELLED
    if code == ExitCode.FENCED:
        return Outcome.FENCED
    return Outcome.FAILED


def describe_exit(code: int | None) -> str:
    """`exit code 3` or `killed by signal 9 (SIGKILL)`."""
    import signal

    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"

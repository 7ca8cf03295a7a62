"""BaseTaskWorker: the class users subclass (0.3.8 API).

    class MyWorker(BaseTaskWorker[MyModel]):
        def initialize(self, data: MyModel) -> None: ...
        @run_main_handler
        def main(self) -> None: ...

Each task runs in its own process. Under a node it is forked from the node's worker fork
server (`skalds/node/forkserver_main.py`): a clean, pre-imported template process with no client
threads, so starting a worker is fast and never forks a process that runs Kafka or Redis
threads. `worker.start()` on an initialized instance (no task) runs the whole lifecycle in
a child process of multiprocessing's fork server, as 0.3.8 ran it in a child process.
"""

from __future__ import annotations

import json
import secrets
import threading
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from multiprocessing.context import ForkServerProcess
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, get_args

from pydantic import BaseModel

from skalds import telemetry
from skalds.worker.checkpoints import encode_checkpoint
from skalds.worker.hooks import (
    checkpoint_handler,
    find_hooks,
    release_handler,
    run_after_handler,
    run_before_handler,
    run_main_handler,
    update_event_handler,
)
from skalds.worker.progress import ProgressReporter
from skalds.worker.runtime import LaunchSettings, WorkerRuntime, exit_with

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from skalds.model.task import Task

T = TypeVar("T", bound=BaseModel)

__all__ = [
    "AbstractTaskWorker",
    "BaseTaskWorker",
    "LifecycleHandler",
    "T",
    "TaskWorkerConfig",
    "UpdateEventHandler",
    "checkpoint_handler",
    "release_handler",
    "run_after_handler",
    "run_before_handler",
    "run_main_handler",
    "update_event_handler",
]


class LifecycleHandler(Protocol):
    def __call__(self) -> None: ...


class UpdateEventHandler(Protocol):
    def __call__(self, data: Any) -> None: ...


class TaskWorkerConfig:
    """0.3.8 kept the Skald mode here; kept for scripts that read it."""

    mode: str = "node"


class AbstractTaskWorker(ForkServerProcess, ABC, Generic[T]):
    """A task's process. Subclasses implement `initialize` and mark hooks with the decorators."""

    def __init__(self, task: Task | None = None, redis_config: Any = None, kafka_config: Any = None) -> None:
        self.task = task
        self.task_id: str = task.id if task is not None else f"MOCK_TASK_{secrets.token_hex(4)}"
        self.task_type: str = type(self).__name__
        self.dependencies: list[str] = list(task.dependencies or []) if task is not None else []
        self.attachments_version: int = task.attachments_version if task is not None else 0
        self.is_done = False
        self.cancel_requested = threading.Event()
        self._skalds_hooks = find_hooks(type(self))
        self._skalds_connection: Connection | None = None
        self._skalds_settings: LaunchSettings | None = None  # the node's; by hand, read in `run`
        self._skalds_attachments: dict[str, Any] | None = None
        self.last_checkpoint: dict[str, Any] | None = None  # the latest saved state (set by the node at start)
        self._skalds_runtime: Any = None  # set in the worker's process: sends the saves
        self._skalds_progress: ProgressReporter | None = None  # set by the runtime; by hand, on first report
        super().__init__(name=f"skalds-worker-{self.task_id}")

    @abstractmethod
    def initialize(self, data: T) -> None:
        """Receive the validated attachments before the hooks run."""

    @classmethod
    def get_data_model(cls) -> type[T]:
        """The pydantic model given as the generic argument (`BaseTaskWorker[Model]`).

        Found once per class (the node asks on every assign, the worker on start and on updates)."""
        found = cls.__dict__.get("_skalds_data_model")
        if found is not None:
            return found  # type: ignore[no-any-return]
        for klass in cls.__mro__:
            for base in getattr(klass, "__orig_bases__", ()):
                for argument in get_args(base):
                    if isinstance(argument, type) and issubclass(argument, BaseModel):
                        cls._skalds_data_model = argument
                        return argument  # type: ignore[return-value]
        raise TypeError(f"{cls.__name__} must be declared as BaseTaskWorker[YourModel]")

    def is_cancel_requested(self) -> bool:
        """True once the task should stop: check it in long loops to end cleanly and quickly."""
        return self.cancel_requested.is_set()

    def span(self, name: str, **attributes: Any) -> AbstractContextManager[Any]:
        """A span of your own inside the current hook's (`with self.span("decode", frames=3) as span:`); does
        nothing while tracing is off. OpenTelemetry's API (`opentelemetry.trace`) works in a worker too."""
        return telemetry.span(name, attributes=attributes)

    def save_checkpoint(self, state: Any) -> None:
        """Save the task's progress (a JSON-serialisable dict or a pydantic model) for its current attempt.

        Returns at once: the node writes it (a burst keeps only the latest). The next attempt, wherever it
        runs, finds it in `self.last_checkpoint` before `initialize`. ValueError when the state is not JSON
        or is over the node's `checkpoint_max_bytes` (1 MiB unless configured)."""
        runtime = self._skalds_runtime
        if runtime is None:  # not started by a node (a test, by hand): checked, kept here only
            self.last_checkpoint = json.loads(encode_checkpoint(state))
            return
        self.last_checkpoint = runtime.save_checkpoint(state)

    def report_progress(self, fraction: float | None = None, message: str | None = None, **metrics: float) -> None:
        """Say how far the task is (`fraction` 0..1) and what it measures (`fps=24.8, dropped=3`).

        Cheap and never blocking: the newest values are kept and sent with the node's next heartbeats.
        A fraction or message left None keeps the last one; metrics merge by name (at most 32 names).
        Bad values raise ValueError."""
        if self._skalds_progress is None:
            self._skalds_progress = ProgressReporter(None)
        self._skalds_progress.report(fraction, message, metrics)

    # Pickled into the fork server child: threading.Event is not picklable, so rebuild it there.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["cancel_requested"] = None
        state["_skalds_progress"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.cancel_requested = threading.Event()

    def _skalds_supervise(self, connection: Connection, settings: LaunchSettings,
                          attachments: dict[str, Any] | None) -> None:
        """Used by the node: the worker will initialize itself in the child from `attachments`."""
        self._skalds_connection = connection
        self._skalds_settings = settings
        self._skalds_attachments = attachments
        self._skalds_traceparent = telemetry.current_traceparent()  # the node's start span: the hooks' parent

    def run(self) -> None:
        """Process entry point (do not call directly; call `start()`)."""
        settings = self._skalds_settings or LaunchSettings.standalone()
        runtime = WorkerRuntime(self, self._skalds_connection, settings, self._skalds_attachments,
                                self.attachments_version)
        code = runtime.execute()
        self.is_done = True
        exit_with(code)


class BaseTaskWorker(AbstractTaskWorker[T]):
    """Subclass as `BaseTaskWorker[YourModel]`."""

    def initialize(self, data: T) -> None:  # pragma: no cover - overridden by users
        raise NotImplementedError

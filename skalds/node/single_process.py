"""single_process mode: run the YAML file's first task under a supervisor and end with its outcome
(the process exit status a Kubernetes Job reads)."""

from __future__ import annotations

import threading

from skalds.model.task import ModeEnum, Task, TaskLifecycleStatus
from skalds.node.supervisor import Supervisor
from skalds.node.yaml_tasks import YamlTask
from skalds.utils.logging import logger
from skalds.worker.protocol import ExitCode

_EXIT_CODES = {TaskLifecycleStatus.Finished.value: ExitCode.FINISHED,
               TaskLifecycleStatus.Cancelled.value: ExitCode.CANCELLED}


def run_single_task(supervisor: Supervisor, entry: YamlTask, stop: threading.Event,
                    ready: threading.Event) -> ExitCode:
    """Start the supervisor, run `entry` to its end (a set `stop` cancels it) and stop nothing else."""
    skald_id = supervisor.config.skald_id
    model = supervisor.registry.model_for(entry.class_name)
    if model is None:
        logger.error(f"single_process: class {entry.class_name!r} is not registered")
        return ExitCode.FAILED
    done = threading.Event()
    outcome: dict[str, str] = {}

    def finished(task_id: str, status: str) -> None:
        outcome["status"] = status
        done.set()

    supervisor.on_task_finished = finished
    attachments = model.model_validate(entry.attachments)
    task = Task(id=entry.task_id, class_name=entry.class_name, source="YAML", name=entry.task_id,
                mode=ModeEnum.PassiveProcess, executor=f"[SP]{skald_id}", is_persistent=entry.is_persistent,
                deadline_date_time=0, lifecycle_status=TaskLifecycleStatus.Running, attachments=attachments,
                description=f"Passive TaskWorker from YAML. ClassName: {entry.class_name}")
    supervisor.start()
    supervisor.start_pulse()
    supervisor.start_task(task, 0, attachments.model_dump(mode="json", by_alias=True))
    ready.set()
    while not done.wait(0.2):
        if stop.is_set():
            supervisor.cancel_task(task.id, "cancel")
            stop.clear()
    status = outcome.get("status")
    code = _EXIT_CODES.get(status or "", ExitCode.FAILED)
    logger.info(f"single_process task {task.id} ended {status}; exit status {int(code)}")
    return code

"""`skalds node|edge|single|controller`: each mode of a process, configured by flags or environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from skalds.cli.config_flags import build_config, with_config_flags
from skalds.cli.errors import EXIT_USAGE, CliError
from skalds.cli.workers import load_workers, split_references
from skalds.config.skald_config import SkaldConfig
from skalds.config.system_controller_config import SystemControllerConfig

WorkerOption = Annotated[list[str] | None, typer.Option(
    "--worker", "-w", envvar="SKALDS_WORKERS", show_default=False, rich_help_panel="Node",
    help="TaskWorker class to run here, as module:Class (repeatable; env SKALDS_WORKERS, space-separated).")]
YamlOption = Annotated[Path, typer.Option("--yaml", help="YAML file of tasks (env YAML_FILE).", envvar="YAML_FILE",
                                          show_default=False, rich_help_panel="Node")]


def _run_skald(mode: str, workers: list[str] | None, settings: dict[str, Any]) -> None:
    references = split_references(workers)
    if not references:
        raise CliError(f"no TaskWorker class for this {mode} (nothing could run)",
                       "pass --worker module:Class, e.g. --worker skalds.examples.demo_worker:DemoWorker",
                       exit_code=EXIT_USAGE)
    classes = load_workers(references)
    config = build_config(SkaldConfig, {**settings, "skald_mode": mode})
    from skalds import Skald

    app = Skald(config)
    for worker in classes:
        app.register_task_worker(worker)
    raise typer.Exit(app.run())


def _yaml_settings(yaml: Path, settings: dict[str, Any]) -> dict[str, Any]:
    if not yaml.is_file():
        raise CliError(f"YAML file {str(yaml)!r} not found", "pass --yaml with the path of your task file",
                       exit_code=EXIT_USAGE)
    from skalds.node.yaml_tasks import YamlTaskError, read_yaml_tasks  # the YAML parser: edge and single only

    try:
        read_yaml_tasks(yaml)
    except YamlTaskError as error:
        raise CliError(str(error), "fix the file (the TaskWorkers format: see the README's edge section)",
                       exit_code=EXIT_USAGE) from error
    return {**settings, "yaml_file": str(yaml.resolve())}


@with_config_flags(SkaldConfig, exclude={"skald_mode", "yaml_file"}, default_panel="Node")
def node(worker: WorkerOption = None, *, settings: dict[str, Any]) -> None:
    """Run a Skald node: tasks are assigned to it by the controller, one process per task."""
    _run_skald("node", worker, settings)


@with_config_flags(SkaldConfig, exclude={"skald_mode", "yaml_file"}, default_panel="Node")
def edge(yaml: YamlOption, worker: WorkerOption = None, *, settings: dict[str, Any]) -> None:
    """Run an edge Skald: the YAML file's tasks start at boot; the services are optional."""
    _run_skald("edge", worker, _yaml_settings(yaml, settings))


@with_config_flags(SkaldConfig, exclude={"skald_mode", "yaml_file"}, default_panel="Node")
def single(yaml: YamlOption, worker: WorkerOption = None, *, settings: dict[str, Any]) -> None:
    """Run the YAML file's first task in this process and exit with its outcome (a Kubernetes Job)."""
    _run_skald("single_process", worker, _yaml_settings(yaml, settings))


@with_config_flags(SystemControllerConfig, default_panel="Controller")
def controller(*, settings: dict[str, Any]) -> None:
    """Run a System Controller: REST API, dashboard, monitor and dispatcher."""
    config = build_config(SystemControllerConfig, settings)
    try:
        from skalds.system_controller.main import main as controller_main
    except ModuleNotFoundError as error:
        raise CliError(f"the controller cannot start: {error}",
                       "its dependencies are part of skalds: reinstall it (pip install --force-reinstall skalds)"
                       ) from error
    raise typer.Exit(controller_main(config))

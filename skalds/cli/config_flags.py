"""Command-line flags generated from a configuration model, so no setting is duplicated by hand.

Each field `kafka_host` becomes `--kafka-host`; a flag left out falls back, as in the Python API, to
the environment variable `KAFKA_HOST`, then `.env`, then the default. Only flags actually given are
passed to the model, so the model stays the one place that decides precedence and validates.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError

from skalds.cli.errors import EXIT_USAGE, CliError

# Help panels, in the order `--help` shows them (typer's rich_help_panel): what the process is first, then
# where it keeps its state, then the tuning few people change, then logging.
PREFIX_PANELS = (("kafka_", "Connection: Kafka"), ("mongo_", "Connection: MongoDB"), ("db_", "Connection: MongoDB"),
                 ("redis_", "Connection: Redis"), ("log_", "Logging"), ("api_", "API security"),
                 ("skalds_", "Backend"), ("monitor_", "Monitor and dispatcher"),
                 ("dispatcher_", "Monitor and dispatcher"))
TUNING = {"heartbeat_period", "cancel_request_timeout", "cancel_grace_seconds", "cancel_interrupt_grace_seconds",
          "reconcile_period", "ownership_check_period", "max_event_task_ids", "event_max_attempts", "fence_seconds",
          "shutdown_drain_seconds", "disconnect_lost_after_seconds", "disconnect_replace", "resource_sample_seconds"}
DRAINING = {"drain_parallelism", "drain_interval"}  # the node's self-drain, or the controller's drains
DISPATCH = {"fence_margin_seconds", "assign_timeout", "max_tasks_per_node", "retry_backoff_seconds",
            "leader_lease_seconds"}
PANEL_ORDER = ("Node", "Controller", "API security", "Backend", "Connection: Kafka", "Connection: MongoDB",
               "Connection: Redis", "Node timing", "Monitor and dispatcher", "Logging")


def panel_of(name: str, default_panel: str) -> str:
    if name in TUNING:
        return "Node timing"
    if name in DISPATCH or (name in DRAINING and default_panel == "Controller"):
        return "Monitor and dispatcher"
    if name in DRAINING:
        return "Node timing"
    return next((panel for prefix, panel in PREFIX_PANELS if name.startswith(prefix)), default_panel)


def _flag_type(annotation: Any) -> tuple[type, str]:
    """The click-friendly type of a field, and a note listing enum choices."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return str, " (" + ", ".join(str(member.value) for member in annotation) + ")"
    if annotation in (bool, int, float, str):
        return annotation, ""
    return str, ""


def _default_text(field: Any) -> str:
    if field.default_factory is not None:
        return "generated"
    value = field.default
    if isinstance(value, Enum):
        value = value.value
    return repr(value) if value not in ("", None) else "empty"


def config_parameters(model: type[BaseModel], exclude: Iterable[str], default_panel: str) -> list[inspect.Parameter]:
    parameters = []
    for name, field in model.model_fields.items():
        if name in exclude:
            continue
        flag_type, choices = _flag_type(field.annotation)
        flag = "--" + name.replace("_", "-")
        declarations = [f"{flag}/--no-{flag[2:]}"] if flag_type is bool else [flag]
        help_text = f"env {name.upper()}; default {_default_text(field)}{choices}"
        option = typer.Option(*declarations, help=help_text, rich_help_panel=panel_of(name, default_panel),
                              show_default=False)
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=Annotated[flag_type | None, option]))
    return sorted(parameters, key=lambda parameter: PANEL_ORDER.index(panel_of(parameter.name, default_panel)))


def with_config_flags(model: type[BaseModel], *, exclude: Iterable[str] = (),
                      default_panel: str = "Node") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command taking `settings: dict`: adds one flag per field and passes the given ones in."""
    excluded = set(exclude)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "settings"]
        extra = config_parameters(model, excluded | {p.name for p in own}, default_panel)
        names = {p.name for p in extra}

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            settings = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
            return command(settings={k: v for k, v in settings.items() if v is not None}, **kwargs)

        wrapper.__signature__ = inspect.Signature(own + extra)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {}
        return wrapper

    return decorate


def build_config(model: type[BaseModel], settings: dict[str, Any]) -> Any:
    """The model from flags + environment; a bad value is one line naming the flag and its variable."""
    try:
        return model(**settings)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item.get("loc") else ""
            where = f"--{field.replace('_', '-')} / {field.upper()}" if field else "configuration"
            problems.append(f"{where}: {item['msg']}")
        raise CliError("invalid configuration: " + "; ".join(problems),
                       "fix the flag or the environment variable", exit_code=EXIT_USAGE) from error
    except ValueError as error:
        raise CliError(f"invalid configuration: {error}", "fix the flag or the environment variable",
                       exit_code=EXIT_USAGE) from error

"""`module:Class` references to TaskWorker classes, as given to --worker."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from skalds.cli.errors import EXIT_USAGE, CliError

DEMO_WORKER = "skalds.examples.demo_worker:DemoWorker"


def split_references(values: list[str] | None) -> list[str]:
    """Flags may repeat and each may hold several references separated by commas or spaces."""
    references: list[str] = []
    for value in values or []:
        references += [part for part in value.replace(",", " ").split() if part]
    return references


def _refused(message: str, hint: str) -> CliError:
    return CliError(message, hint, exit_code=EXIT_USAGE)


def load_worker(reference: str) -> type[Any]:
    """Import `package.module:ClassName` (the current directory is importable, as with `python -m`).
    Every failure is a usage error (exit 2): the reference given cannot be run, and nothing was started."""
    from skalds.worker.baseclass import AbstractTaskWorker

    module_name, colon, class_name = reference.partition(":")
    if not colon or not module_name or not class_name:
        raise _refused(f"worker {reference!r} is not of the form module:Class",
                       "write it like my_package.my_module:MyWorker")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise _refused(f"cannot import module {module_name!r} for worker {reference!r}: {error}",
                       "run from the folder that contains it, or add its folder to PYTHONPATH") from error
    except Exception as error:
        raise _refused(f"importing {module_name!r} failed: {type(error).__name__}: {error}",
                       "fix the module so that it imports cleanly") from error
    worker = getattr(module, class_name, None)
    if worker is None:
        raise _refused(f"module {module_name!r} has no class {class_name!r}", "check the class name and its case")
    if not (isinstance(worker, type) and issubclass(worker, AbstractTaskWorker)):
        raise _refused(f"{reference!r} is not a TaskWorker class",
                       "it must subclass skalds.worker.baseclass.BaseTaskWorker[YourModel]")
    return worker


def load_workers(references: list[str]) -> list[type[Any]]:
    return [load_worker(reference) for reference in references]

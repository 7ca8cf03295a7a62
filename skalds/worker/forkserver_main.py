"""Imported once inside the worker fork server: loads the node's main module there.

Every worker process re-creates the parent's `__main__` (multiprocessing's rule, so that
classes defined in the main script unpickle). Python's own `__main__` preload for the fork
server never takes effect (CPython gh-126631), so without this each worker re-ran the node
script and re-imported Kafka, MongoDB and Redis clients. Loaded here, the children find it
in place. Any failure only logs: workers then fall back to multiprocessing's slow path.
"""

from __future__ import annotations

import json
import os
import sys
from multiprocessing import process, spawn

MAIN_PATH_VARIABLE = "SKALDS_FORKSERVER_MAIN_PATH"
MAIN_NAME_VARIABLE = "SKALDS_FORKSERVER_MAIN_NAME"
SYS_PATH_VARIABLE = "SKALDS_FORKSERVER_SYS_PATH"
LOGGING_VARIABLE = "SKALDS_FORKSERVER_LOGGING"  # JSON: configure_logging's stderr settings for the workers


def _load_main() -> None:
    path = os.environ.pop(MAIN_PATH_VARIABLE, None)
    name = os.environ.pop(MAIN_NAME_VARIABLE, None)
    sys_path = os.environ.pop(SYS_PATH_VARIABLE, None)
    if not path and not name:
        return
    if sys_path:
        sys.path[:] = json.loads(sys_path)  # the fork server does not inherit the node's import path
    current = process.current_process()
    previous = getattr(current, "_inheriting", None)
    current._inheriting = True  # type: ignore[attr-defined]
    try:
        if path:
            spawn.import_main_path(path)
        elif name:
            spawn._fixup_main_from_name(name)  # type: ignore[attr-defined]
    except BaseException as error:  # never break the fork server
        sys.stderr.write(f"skalds: could not preload the main module in the fork server: {error!r}\n")
    finally:
        if previous is None:
            del current._inheriting  # type: ignore[attr-defined]
        else:
            current._inheriting = previous  # type: ignore[attr-defined]


def _configure_logging() -> None:
    """Set up the workers' stderr sink once, here: every worker forked from this process inherits it,
    and setting up a loguru sink costs about 8 ms of CPU, paid per task otherwise."""
    settings = os.environ.pop(LOGGING_VARIABLE, None)
    if not settings:
        return
    try:
        from skalds.utils.logging import configure_logging

        configure_logging(**json.loads(settings))
    except BaseException as error:  # never break the fork server: each worker then sets up its own
        sys.stderr.write(f"skalds: could not set up logging in the fork server: {error!r}\n")


_load_main()
_configure_logging()

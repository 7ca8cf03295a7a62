"""Imported once inside the worker fork server: loads the node's main module there.

Every worker process re-creates the parent's `__main__` (multiprocessing's rule, so that
classes defined in the main script unpickle). Python's own `__main__` preload for the fork
server never takes effect (it looks for a `main_path` key that the preparation data does not
have), so without this each worker re-ran the node script and re-imported Kafka, MongoDB and
Redis clients: seconds per worker under load. Loaded here, the children find it in place.
"""

from __future__ import annotations

import os
from multiprocessing import process, spawn

MAIN_PATH_VARIABLE = "SKALDS_FORKSERVER_MAIN_PATH"
MAIN_NAME_VARIABLE = "SKALDS_FORKSERVER_MAIN_NAME"


def _load_main() -> None:
    path, name = os.environ.get(MAIN_PATH_VARIABLE), os.environ.get(MAIN_NAME_VARIABLE)
    if not path and not name:
        return
    process.current_process()._inheriting = True  # type: ignore[attr-defined]
    try:
        if path:
            spawn.import_main_path(path)
        elif name:
            spawn._fixup_main_from_name(name)  # type: ignore[attr-defined]
    finally:
        del process.current_process()._inheriting  # type: ignore[attr-defined]


_load_main()

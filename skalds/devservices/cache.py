"""Version-keyed cache entries that are either complete or absent.

An entry is built in a temporary sibling directory and renamed into place only when the build
succeeded, so an interrupted ``up`` (Ctrl-C, CI timeout, full disk) never leaves a half-filled
Kafka lib dir or a truncated binary that a later run would trust. A lock file serialises two
``up`` runs that race to build the same entry.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

_MARKER = ".complete"


def digest(*parts: str | bytes) -> str:
    """A short content hash, to key entries by their recipe and not only by version."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:12]


def is_complete(entry: Path) -> bool:
    return (entry / _MARKER).is_file()


@contextlib.contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """Exclusive advisory lock, released on exit or when the process dies."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_entry(entry: Path, build: Callable[[Path], None]) -> Path:
    """Return ``entry``, building it first with ``build(tmp_dir)`` if it is missing."""
    if is_complete(entry):
        return entry
    parent = entry.parent
    with file_lock(parent / f".{entry.name}.lock"):
        if is_complete(entry):  # another process built it while we waited for the lock
            return entry
        # Whatever is left from an earlier, interrupted build is garbage: we hold the lock.
        for stale in parent.glob(f".{entry.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-", dir=parent))
        try:
            build(tmp)
            (tmp / _MARKER).write_text(f"built {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
            os.rename(tmp, entry)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return entry

"""The duplicate-id error of 0.3.8's `TaskRepository.create_task`: pymongo's, on every store.

0.3.8 let pymongo's DuplicateKeyError through, and scripts catch it by that name. Kept apart from
`errors.py` so that only the 0.3.8 wrappers load pymongo for it (the ports stay driver-free).
"""

from __future__ import annotations

import pymongo.errors

from skalds.transport.errors import DuplicateTaskError

DUPLICATE_KEY_CODE = 11000  # MongoDB's code for a unique index violation


class DuplicateTaskKeyError(DuplicateTaskError, pymongo.errors.DuplicateKeyError):
    """A task with this id exists: both our DuplicateTaskError and pymongo's DuplicateKeyError."""

    def __init__(self, message: str) -> None:
        pymongo.errors.DuplicateKeyError.__init__(self, message, DUPLICATE_KEY_CODE,
                                                  {"code": DUPLICATE_KEY_CODE, "errmsg": message})

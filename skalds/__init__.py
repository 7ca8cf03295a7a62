"""Skalds: long-lived task workers across machines.

`from skalds import Skald` (and its alias `Skalds`) loads the application lazily, so a
worker process that imports `skalds.worker.baseclass` does not pay for Kafka, MongoDB
and Redis clients it never uses.
"""

from typing import Any

__version__ = "0.4.0.dev0"
__all__ = ["Skald", "Skalds", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Skald", "Skalds"):
        from skalds.skald import Skald

        return Skald
    raise AttributeError(f"module 'skalds' has no attribute {name!r}")

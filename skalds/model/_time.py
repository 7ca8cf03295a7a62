"""Timestamps on the wire are Unix epoch milliseconds (0.3.8 format)."""

import time


def now_ms() -> int:
    return int(time.time() * 1000)

"""Print the logs of a test's processes when the test failed (pytest captures and shows them)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def print_logs_on_failure(request: pytest.FixtureRequest, logs: dict[str, Callable[[], str]]) -> None:
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for name, read in logs.items():
            print(f"\n===== log of {name} =====\n{read()[-6000:]}")

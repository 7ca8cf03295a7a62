"""Headless Chromium (Debian's /usr/bin/chromium, never a downloaded one) for the dashboard tests.

Every page records console errors and uncaught exceptions; a test fails on any it did not
announce beforehand (`page_errors.allow(...)` for a request the test makes fail on purpose).
Screenshots go to test-artifacts/dashboard/ (gitignored) and their paths are printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/bootstrap does it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class ConsoleWatch:
    """Console errors and page exceptions; `allow(pattern)` expects exactly one matching error."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    tolerated: list[re.Pattern[str]] = field(default_factory=list)

    def record(self, text: str) -> None:
        if any(pattern.search(text) for pattern in self.tolerated):
            return
        for index, pattern in enumerate(self.allowed):
            if pattern.search(text):
                del self.allowed[index]
                return
        self.errors.append(text)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def tolerate(self, pattern: str) -> None:
        """Any number of matching errors from now on (a server the test stopped on purpose)."""
        self.tolerated.append(re.compile(pattern))

    def check(self) -> None:
        assert not self.errors, "the browser reported errors:\n" + "\n".join(self.errors)


@dataclass
class Dashboard:
    """Opens dashboard pages and saves screenshots named after the test."""

    browser: object
    test_name: str
    watches: list[ConsoleWatch] = field(default_factory=list)
    contexts: list[object] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def open(self, base_url: str, *, width: int = 1366, height: int = 900, mobile: bool = False):
        context = self.browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile,
                                           has_touch=mobile, base_url=base_url)
        context.set_default_timeout(15000)
        self.contexts.append(context)
        page = context.new_page()
        watch = ConsoleWatch()
        self.watches.append(watch)
        page.on("console", lambda message: watch.record(f"console.{message.type}: {message.text}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: watch.record(f"uncaught: {error}"))
        page.goto(base_url + "/dashboard/")
        return page, watch

    def shot(self, page, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.test_name}-{len(self.shots) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def dashboard(browser, request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    name = re.sub(r"[^A-Za-z0-9_]+", "-", request.node.name.removeprefix("test_"))
    for stale in ARTIFACTS.glob(f"{name}-*.png"):  # only this run's screenshots, numbered in order
        stale.unlink()
    board = Dashboard(browser, name)
    try:
        yield board
        for watch in board.watches:
            watch.check()
    finally:
        board.close()

#!/usr/bin/env python3
"""How long a node's status write takes to reach an SSE client through the change feed (issue #12).

    SKALDS_KAFKA_PORT=... SKALDS_MONGO_PORT=... SKALDS_REDIS_PORT=... .venv/bin/python bench/feed_latency_bench.py

A real controller (DISPATCHER, defaults) on the real services; this process plays a node: it writes
a task's status the way a node's store writer does (a compare-and-set plus its history entry, through
the FeedingStore, so the change is published on the feed) and times the moment its SSE message
arrives on `/api/events/tasks`. The controller re-reads the task by key before it streams the entry,
so the number includes that read. Printed: p50 / p99 / max over `--changes` writes, one at a time.

With `--browser N` it then does the same N times with the dashboard open in headless Chromium
(/usr/bin/chromium) on the task's page, and times the write to the moment the page's status badge reads
Running (a MutationObserver stamps `Date.now()`; the browser and this process share the machine's clock).
That is what a user sees: the SSE message, the dashboard's handling of it and its DOM update (the paint
follows within one frame).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from bench_services import Endpoints
from controller_bench import Names, Ours

from skalds.model.task import Task, TaskLifecycleStatus
from skalds.tasks import lifecycle
from skalds.tasks.feeding_store import FeedingStore
from skalds.tasks.status_change import StatusChange
from skalds.transport.kafka_events import KafkaEventPublisher, KafkaSettings
from skalds.transport.mongo_tasks import MongoTaskStore, mongo_client
from skalds.transport.wire_names import KafkaTopic

S = TaskLifecycleStatus


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


SHOWN_RUNNING = """() => {
    window.shownAt = null;
    const seen = () => {
        const badge = document.querySelector('.task-status .badge');
        if (window.shownAt === null && badge && badge.textContent.trim() === 'Running') window.shownAt = Date.now();
    };
    new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def browser_latencies(url: str, raw: MongoTaskStore, store: FeedingStore, run_id: str, count: int) -> list[float]:
    """Write → the dashboard's task page shows Running, in ms, `count` times (a new task each time)."""
    from playwright.sync_api import sync_playwright

    latencies: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url + "/dashboard/")
        for index in range(count):
            task_id = f"browser-{run_id}-{index}"
            raw.insert({**Task(id=task_id, class_name="BenchWorker", source="bench").to_document(),
                        "executor": "bench-node", "attempt": 1, "lifecycleStatus": S.Assigning.value})
            page.evaluate("id => { location.hash = '#/tasks/' + id; }", task_id)
            page.wait_for_function("() => document.querySelector('.task-status .badge')?.textContent.trim()"
                                   " === 'Assigning'", timeout=15000)
            page.evaluate(SHOWN_RUNNING)
            time.sleep(0.1)  # the page settles: its SSE connection and the task's first read are done
            written = time.time()
            lifecycle.record_status(store, StatusChange.of(task_id, S.Running, executor="bench-node", attempt=1))
            page.wait_for_function("() => window.shownAt !== null", timeout=10000)
            latencies.append(page.evaluate("() => window.shownAt") - written * 1000)
        browser.close()
    return latencies


def row(label: str, latencies: list[float], asked: int) -> str:
    return (f"| {label} | {percentile(latencies, 0.5):.1f} | {percentile(latencies, 0.99):.1f} | "
            f"{max(latencies):.1f} | {len(latencies)}/{asked} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--browser", type=int, default=0, help="then this many writes watched in Chromium")
    options = parser.parse_args()
    endpoints = Endpoints.from_env()
    endpoints.check()
    names = Names(run_id=uuid.uuid4().hex[:6], tag="feedbench")
    db, prefix = names.db("feed"), names.redis_prefix
    workdir = Path(tempfile.mkdtemp(prefix="skalds-feed-bench-"))
    raw = MongoTaskStore(mongo_client(endpoints.mongo_uri), db)
    raw.ensure_indexes()
    publisher = KafkaEventPublisher(KafkaSettings(bootstrap_servers=endpoints.kafka))
    store = FeedingStore(raw, publisher, names.topic_prefix + KafkaTopic.TASK_CHANGES, "bench-node")
    controller = Ours(endpoints, names, workdir).controller(db, prefix)
    arrived: dict[str, float] = {}
    ready = threading.Event()

    def listen() -> None:
        with contextlib.suppress(httpx.HTTPError), httpx.Client(base_url=controller.url, timeout=None) as client, \
                client.stream("GET", "/api/events/tasks") as stream:
            ready.set()
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    message = json.loads(line[6:])
                    key = f"{message.get('taskId')}:{message.get('data', {}).get('lifecycleStatus')}"
                    arrived.setdefault(key, time.perf_counter())

    threading.Thread(target=listen, daemon=True).start()
    ready.wait(30)
    latencies: list[float] = []
    try:
        for index in range(options.changes):
            task_id = f"feed-{names.run_id}-{index}"
            raw.insert({**Task(id=task_id, class_name="BenchWorker", source="bench").to_document(),
                        "executor": "bench-node", "attempt": 1, "lifecycleStatus": S.Assigning.value})
            written = time.perf_counter()
            lifecycle.record_status(store, StatusChange.of(task_id, S.Running, executor="bench-node", attempt=1))
            deadline = time.monotonic() + 10
            while f"{task_id}:Running" not in arrived and time.monotonic() < deadline:
                time.sleep(0.0005)
            if f"{task_id}:Running" in arrived:
                latencies.append((arrived[f"{task_id}:Running"] - written) * 1000)
            time.sleep(0.02)
        shown = browser_latencies(controller.url, raw, store, names.run_id, options.browser) if options.browser else []
    finally:
        controller.stop()
        raw.tasks.database.client.drop_database(db)
    print("| a node's status write → (ms) | p50 | p99 | max | received |")
    print("|---|---|---|---|---|")
    print(row("its SSE message, through the change feed", latencies, options.changes))
    if shown:
        print(row("the dashboard's task page reads Running (Chromium)", shown, options.browser))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

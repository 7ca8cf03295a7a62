"""Run a Skald with the test workers and `ResourceHogWorker`; settings from the environment, as run_node.py."""

import sys

from skalds import Skald
from skalds.config.skald_config import SkaldConfig
from support.resource_workers import ResourceHogWorker
from support.workers import ALL_WORKERS

if __name__ == "__main__":
    app = Skald(SkaldConfig())
    for worker in [*ALL_WORKERS, ResourceHogWorker]:
        app.register_task_worker(worker)
    sys.exit(app.run())

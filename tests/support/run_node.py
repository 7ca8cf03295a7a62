"""Run a Skald with the test workers; all settings come from the environment (SKALD_ID,
SKALD_MODE, KAFKA_TOPIC_PREFIX, DB_NAME, REDIS_KEY_PREFIX, ...)."""

import sys

from skalds import Skald
from skalds.config.skald_config import SkaldConfig
from support.checkpoint_workers import CHECKPOINT_WORKERS
from support.workers import ALL_WORKERS

if __name__ == "__main__":
    app = Skald(SkaldConfig())
    for worker in ALL_WORKERS + CHECKPOINT_WORKERS:
        app.register_task_worker(worker)
    sys.exit(app.run())

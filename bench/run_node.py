"""Run one of our Skald nodes with the bench worker; settings come from the environment
(SKALD_ID, KAFKA_TOPIC_PREFIX, DB_NAME, REDIS_KEY_PREFIX, ...). Started by node_bench.py."""

import sys

from workers import BenchWorker

from skalds import Skald
from skalds.config.skald_config import SkaldConfig

if __name__ == "__main__":
    app = Skald(SkaldConfig())
    app.register_task_worker(BenchWorker)
    sys.exit(app.run())

"""A real Skald node for the controller bench: our Skald with `CtlBenchWorker` registered.

All settings come from the environment (SKALD_ID, SKALD_MODE=node, KAFKA_*, MONGO_HOST,
DB_NAME, REDIS_*, KAFKA_TOPIC_PREFIX, REDIS_KEY_PREFIX, HEARTBEAT_PERIOD, ...), as
bench/controller_bench.py sets them.
"""

import sys

from controller_workers import CtlBenchWorker

from skalds import Skald
from skalds.config.skald_config import SkaldConfig

if __name__ == "__main__":
    app = Skald(SkaldConfig())
    app.register_task_worker(CtlBenchWorker)
    sys.exit(app.run())

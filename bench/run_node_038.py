"""Run a Skalds 0.3.8 node with the bench worker. Executed with the baseline venv's python
(see setup_baseline.sh); 0.3.8 reads SKALD_ID, KAFKA_HOST, ... from the environment at import."""

import os

from workers_038 import BenchWorker

from skalds import Skald
from skalds.config.skald_config import SkaldConfig

if __name__ == "__main__":
    app = Skald(SkaldConfig(skald_id=os.environ["SKALD_ID"], skald_mode="node"))
    app.register_task_worker(BenchWorker)
    app.run()

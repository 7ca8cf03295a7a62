"""`python -m skalds.examples.realservices_demo`: a node on the real services plus a few demo tasks.

Starts a Skald node (id `demo-node`) with DemoWorker, creates three tasks, assigns them,
and prints their status as they run; Ctrl-C stops everything.
"""

from __future__ import annotations

import threading
import time
import uuid

from skalds import Skald
from skalds.config.skald_config import SkaldConfig
from skalds.examples.demo_worker import DemoAttachments, DemoWorker
from skalds.model.event import TaskEvent
from skalds.model.task import Task
from skalds.proxy.kafka import KafkaConfig, KafkaProxy, KafkaTopic
from skalds.proxy.mongo import MongoConfig, MongoProxy
from skalds.repository.repository import TaskRepository
from skalds.utils.logging import logger

NODE_ID = "demo-node"


def submit_and_watch(app: Skald, config: SkaldConfig) -> None:
    app.wait_ready()
    repository = TaskRepository(MongoProxy(MongoConfig(host=config.mongo_host, db_name=config.db_name)))
    kafka = KafkaProxy(KafkaConfig(host=config.kafka_host, port=config.kafka_port))
    ids = []
    for index in range(3):
        task_id = f"demo-{uuid.uuid4().hex[:6]}"
        repository.create_task(Task(id=task_id, class_name=DemoWorker.__name__, source="demo",
                                    attachments=DemoAttachments(message=f"task {index + 1} says hi", steps=5 + index)))
        repository.update_executor(task_id, NODE_ID)
        kafka.produce(KafkaTopic.TASK_ASSIGN, key=task_id, value=TaskEvent(task_ids=[task_id]).model_dump_json())
        ids.append(task_id)
    last: dict[str, str] = {}
    while True:
        for task_id in ids:
            status = (repository.get_document(task_id) or {}).get("lifecycleStatus", "?")
            if last.get(task_id) != status:
                logger.success(f"[demo] task {task_id}: {status}")
                last[task_id] = status
        if all(status in ("Finished", "Failed", "Cancelled") for status in last.values()) and len(last) == len(ids):
            logger.success("[demo] all demo tasks ended; the node keeps running (Ctrl-C to stop)")
            return
        time.sleep(0.5)


def main() -> None:
    config = SkaldConfig(skald_id=NODE_ID, skald_mode="node", kafka_host="127.0.0.1", redis_host="127.0.0.1",
                         mongo_host="mongodb://root:root@localhost:27017/", log_path="")
    app = Skald(config)
    app.register_task_worker(DemoWorker)
    threading.Thread(target=submit_and_watch, args=(app, config), daemon=True).start()
    app.run()


if __name__ == "__main__":
    main()

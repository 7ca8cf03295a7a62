"""0.3.8 scripts on the real services: its wrappers built without arguments take the environment's services."""

from __future__ import annotations

import uuid

import pymongo.errors
import pytest
from confluent_kafka.admin import AdminClient

from skalds.model.task import Task
from support.workers import SleepModel

pytestmark = pytest.mark.integration


def test_0_3_8_wrappers_without_arguments_use_the_environment(cluster, names, script_environment):
    from skalds.proxy.kafka import KafkaAdmin, KafkaProxy, KafkaTopic
    from skalds.proxy.mongo import MongoProxy
    from skalds.proxy.redis import RedisProxy
    from skalds.repository.repository import TaskRepository

    repository = TaskRepository()  # 0.3.8 raised ValueError; now MONGO_HOST's store
    repository.create_task(Task(id="compat-1", class_name="NobodyRegisteredThis", source="script",
                                attachments=SleepModel(label="raw")))
    assert cluster.doc("compat-1")["className"] == "NobodyRegisteredThis"
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        repository.create_task(Task(id="compat-1", class_name="NobodyRegisteredThis", source="script"))
    task = repository.get_task_by_task_id(id="compat-1")
    assert task is not None and task.id == "compat-1" and task.attachments is None  # class unknown here

    mongo = MongoProxy()
    assert mongo.db.name == names["db_name"] and mongo.db.tasks.find_one({"id": "compat-1"}) is not None
    mongo.close()

    redis_proxy = RedisProxy()
    key = f"{names['redis_prefix']}compat:{uuid.uuid4().hex[:6]}"
    redis_proxy.set_message(key, "v", ttl=60)
    redis_proxy.set_hash(key + ":h", "f", "1", ttl=60)
    assert redis_proxy.get_message(key) == b"v"  # bytes, as 0.3.8 returned
    assert redis_proxy.get_all_hash(root_key=key + ":h") == {"f": "1"}
    assert sorted(redis_proxy.get_sub_keys(root_key=key)) == [key, key + ":h"]
    assert redis_proxy.delete_key(key) == 1 and redis_proxy.delete_key(key + ":h") == 1
    redis_proxy.close()

    admin = KafkaAdmin()
    admin.create_topic("compat.admin", partitions=1)
    listed = AdminClient(cluster.kafka.client_config()).list_topics(timeout=10).topics
    assert f"{names['topic_prefix']}compat.admin" in listed
    admin.delete_topic("compat.admin")
    admin.disconnect()
    kafka = KafkaProxy()
    kafka.produce(KafkaTopic.TESTING_PRODUCER, key="k", value="{}")  # waits for the broker's acknowledgement, or raises
    kafka.close()

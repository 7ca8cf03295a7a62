"""A 0.3.8 script switches with one line: its enum names, keywords, imports and errors keep working.

The tables below are facts read from the 0.3.8 source (skalds/model/task.py, skalds/config/_enum.py,
skalds/handler/survive.py, and the modules its docs and examples import).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pymongo.errors
import pytest
from pydantic import BaseModel

from skalds.model.attachment_registry import register_attachment_model
from skalds.model.task import HeartbeatCode, Task
from skalds.repository.repository import TaskRepository
from skalds.transport.errors import DuplicateTaskError
from skalds.transport.sqlite_db import SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore

pytestmark = pytest.mark.unit

# module, enum, {0.3.8 member name: value}
ENUMS_0_3_8 = [
    ("skalds.model.task", "ModeEnum", {"ACTIVE": "Active", "PASSIVE": "Passive", "PASSIVE_PROCESS": "PassiveProcess"}),
    ("skalds.model.task", "TaskLifecycleStatus",
     {"CREATED": "Created", "ASSIGNING": "Assigning", "RUNNING": "Running", "PAUSED": "Paused",
      "FINISHED": "Finished", "FAILED": "Failed", "CANCELLED": "Cancelled"}),
    ("skalds.config._enum", "LogLevelEnum", {name: name for name in
                                             ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")}),
    ("skalds.config._enum", "SkaldEnvEnum", {"DEV": "DEV", "PRODUCTION": "PRODUCTION"}),
    ("skalds.config._enum", "SkaldModeEnum", {"EDGE": "edge", "NODE": "node", "SINGLE_PROCESS": "single_process"}),
    ("skalds.config._enum", "SystemControllerModeEnum",
     {"CONTROLLER": "CONTROLLER", "MONITOR": "MONITOR", "DISPATCHER": "DISPATCHER"}),
    ("skalds.config._enum", "DispatcherStrategyEnum",
     {"LEAST_TASKS": "LEAST_TASKS", "ROUND_ROBIN": "ROUND_ROBIN", "RANDOM": "RANDOM"}),
]

# What 0.3.8's README, website docs and examples import.
IMPORTS_0_3_8 = {
    "skalds": ["Skald", "Skalds"],
    "skalds.config.skald_config": ["SkaldConfig"],
    "skalds.config.system_controller_config": ["SystemControllerConfig"],
    "skalds.config.systemconfig": ["SystemConfig"],
    "skalds.worker.baseclass": ["BaseTaskWorker", "run_before_handler", "run_main_handler", "run_after_handler",
                                "release_handler", "update_event_handler"],
    "skalds.utils.logging": ["logger"],
    "skalds.proxy.kafka": ["KafkaConfig", "KafkaProxy", "KafkaTopic", "KafkaAdmin"],
    "skalds.proxy.mongo": ["MongoConfig", "MongoProxy"],
    "skalds.proxy.redis": ["RedisConfig", "RedisProxy", "RedisKey"],
    "skalds.model.task": ["Task", "ModeEnum", "TaskLifecycleStatus", "TaskWorkerSimpleMap",
                          "TaskWorkerSimpleMapList"],
    "skalds.model.event": ["TaskEvent", "UpdateTaskWorkerEvent"],
    "skalds.repository.repository": ["TaskRepository"],
    "skalds.system_controller": ["SystemController"],
    "skalds.system_controller.main": ["SystemController", "main"],
}


@pytest.mark.parametrize(("module", "name", "members"), ENUMS_0_3_8, ids=[row[1] for row in ENUMS_0_3_8])
def test_every_0_3_8_enum_member_name_is_the_same_member(module: str, name: str, members: dict[str, str]) -> None:
    enum = getattr(importlib.import_module(module), name)
    for member, value in members.items():
        assert getattr(enum, member) is enum(value) and getattr(enum, member).value == value, member
        assert enum[member] is enum(value)
    # Aliases never show: iterating and .list() give each value once, as before.
    assert [item.value for item in enum] == list(dict.fromkeys(members.values()))
    assert enum.list() == list(dict.fromkeys(members.values()))


def test_0_3_8_enum_names_work_where_0_3_8_code_used_them() -> None:
    from skalds.model.task import ModeEnum, TaskLifecycleStatus

    task = Task(id="t", class_name="W", source="s", mode=ModeEnum.PASSIVE_PROCESS,
                lifecycle_status=TaskLifecycleStatus.RUNNING.value)
    assert task.to_document()["mode"] == "PassiveProcess" and task.lifecycle_status == "Running"
    assert TaskLifecycleStatus.CANCELLED == "Cancelled"


def test_0_3_8_heartbeat_names() -> None:  # skalds.handler.survive.HeartBeat of 0.3.8
    assert (HeartbeatCode.SUCCESS, HeartbeatCode.FAILED, HeartbeatCode.CANCELED) == (200, -1, -2)
    assert [code.name for code in HeartbeatCode] == ["FINISHED", "FAILED", "CANCELLED"]


@pytest.mark.parametrize("module", sorted(IMPORTS_0_3_8))
def test_what_0_3_8_docs_and_examples_import_still_imports(module: str) -> None:
    imported = importlib.import_module(module)
    assert [name for name in IMPORTS_0_3_8[module] if not hasattr(imported, name)] == []


def test_0_3_8_topic_and_key_names() -> None:
    from skalds.proxy.kafka import KafkaTopic
    from skalds.proxy.redis import RedisKey

    assert (KafkaTopic.TASK_ASSIGN, KafkaTopic.TASK_CANCEL, KafkaTopic.TASK_UPDATE_ATTACHMENT,
            KafkaTopic.TASK_WORKER_UPDATE, KafkaTopic.TESTING_PRODUCER) == (
        "task.assign", "task.cancel", "task.update.attachment", "taskworker.update", "testing")
    assert KafkaTopic.task_notify_process_update("t") == "task.t.update"
    assert (RedisKey.SKALD_LIST_HASH, RedisKey.SKALD_MODE_LIST_HASH) == ("skalds:hash", "skalds:mode:hash")
    assert [RedisKey.skald_heartbeat("n"), RedisKey.skald_allow_task_class_name("n"), RedisKey.skald_all_task("n"),
            RedisKey.task_has_error("t"), RedisKey.task_heartbeat("t"), RedisKey.task_exception("t")] == [
        "skalds:n:heartbeat", "skalds:n:allow-task-class-name", "skalds:n:all-task", "task:t:has-error",
        "task:t:heartbeat", "task:t:exception"]


def test_0_3_8_keyword_names() -> None:
    from skalds.proxy.redis import RedisProxy
    from skalds.skald import Skald
    from skalds.worker.baseclass import run_main_handler, update_event_handler

    def parameters(function: object) -> list[str]:
        return list(inspect.signature(function).parameters)  # type: ignore[arg-type]

    assert parameters(TaskRepository.get_task_by_task_id)[:3] == ["self", "id", "strict_mode"]
    assert parameters(TaskRepository.update_executor)[:3] == ["self", "id", "executor"]
    assert parameters(TaskRepository.update_attachments)[:3] == ["self", "id", "attachments"]
    assert parameters(RedisProxy.get_sub_keys)[1] == "root_key"
    assert parameters(RedisProxy.get_all_hash)[1] == "root_key"
    assert parameters(Skald.register_task_worker)[1] == "worker"

    def hook(self: object) -> None: ...

    assert run_main_handler(func=hook) is hook and update_event_handler(func=hook) is hook


@pytest.fixture
def repository(tmp_path: Path) -> TaskRepository:
    return TaskRepository(SqliteTaskStore(SqliteDatabase(tmp_path / "skalds.db")))


class Camera(BaseModel):
    rtsp_url: str
    fix_frame: int = 1


def test_a_duplicate_create_task_is_pymongos_duplicate_key_error(repository: TaskRepository) -> None:
    repository.create_task(Task(id="dup", class_name="W", source="s"))
    with pytest.raises(pymongo.errors.DuplicateKeyError) as caught:
        repository.create_task(Task(id="dup", class_name="W", source="s"))
    assert isinstance(caught.value, DuplicateTaskError) and caught.value.code == 11000
    assert "dup" in str(caught.value)


def test_get_task_by_task_id_of_an_unregistered_class_has_no_attachments(repository: TaskRepository) -> None:
    register_attachment_model("CompatCamera", Camera)
    for task_id, class_name, attachments in (("unknown", "CompatNobodyRegistered", Camera(rtsp_url="u")),
                                             ("known", "CompatCamera", Camera(rtsp_url="u", fix_frame=3))):
        repository.create_task(Task(id=task_id, class_name=class_name, source="s", attachments=attachments))
    repository.create_task(Task(id="invalid", class_name="CompatCamera", source="s"))
    repository.store.update("invalid", {"attachments": {"fix_frame": "not a number"}})

    unknown = repository.get_task_by_task_id(id="unknown")
    assert unknown is not None and unknown.id == "unknown" and unknown.attachments is None
    invalid = repository.get_task_by_task_id("invalid")
    assert invalid is not None and invalid.attachments is None
    known = repository.get_task_by_task_id(id="known")
    assert known is not None and known.attachments == Camera(rtsp_url="u", fix_frame=3)
    raw = repository.get_task_by_task_id(id="unknown", strict_mode=False)
    assert raw is not None and raw.attachments == {"rtsp_url": "u", "fix_frame": 1}
    assert repository.get_task_by_task_id(id="absent") is None


def test_0_3_8_keywords_of_the_repository_work(repository: TaskRepository) -> None:
    repository.create_task(Task(id="kw", class_name="W", source="s"))
    assert repository.update_executor(id="kw", executor="node-1").executor == "node-1"
    updated = repository.update_attachments(id="kw", attachments=Camera(rtsp_url="new"))
    assert updated is not None and updated.attachments_version == 1


def test_task_repository_without_argument_uses_the_environments_store(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name in ("KAFKA_HOST", "MONGO_HOST", "REDIS_HOST", "SKALDS_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKALDS_EMBEDDED_PATH", str(tmp_path / "from-env.db"))
    TaskRepository().create_task(Task(id="env", class_name="W", source="s"))
    assert SqliteTaskStore(SqliteDatabase(tmp_path / "from-env.db")).get("env")["className"] == "W"


def test_proxy_configs_without_arguments_read_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skalds.proxy.kafka import KafkaConfig
    from skalds.proxy.mongo import MongoConfig
    from skalds.proxy.redis import RedisConfig

    monkeypatch.chdir(tmp_path)
    for name in ("KAFKA_HOST", "KAFKA_PORT", "MONGO_HOST", "DB_NAME", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD",
                 "SKALD_ID", "KAFKA_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    kafka, mongo, redis_config = KafkaConfig(), MongoConfig(), RedisConfig()  # 0.3.8's defaults
    assert (kafka.host, kafka.port, kafka.username) == ("localhost", 9092, "")
    assert kafka.consume_group_id.startswith("skalds-")
    assert (mongo.host, mongo.db_name) == ("mongodb://localhost:27017/", "skalds")
    assert (redis_config.host, redis_config.port, redis_config.password) == ("localhost", 6379, "")

    monkeypatch.setenv("KAFKA_HOST", "kafka.example")
    monkeypatch.setenv("KAFKA_PORT", "19092")
    monkeypatch.setenv("KAFKA_USERNAME", "user")
    monkeypatch.setenv("SKALD_ID", "node-7")
    monkeypatch.setenv("MONGO_HOST", "mongodb://db.example:27018/")
    monkeypatch.setenv("DB_NAME", "mine")
    monkeypatch.setenv("REDIS_HOST", "redis.example")
    monkeypatch.setenv("REDIS_PORT", "16379")
    monkeypatch.setenv("REDIS_PASSWORD", "secret")
    kafka, mongo, redis_config = KafkaConfig(), MongoConfig(), RedisConfig()
    assert (kafka.host, kafka.port, kafka.username, kafka.consume_group_id) == ("kafka.example", 19092, "user",
                                                                                  "node-7")
    assert kafka.settings().bootstrap_servers == "kafka.example:19092"
    assert (mongo.host, mongo.db_name) == ("mongodb://db.example:27018/", "mine")
    assert (redis_config.host, redis_config.port, redis_config.password) == ("redis.example", 16379, "secret")
    explicit = KafkaConfig(host="127.0.0.1", port=9092)  # a keyword that is passed wins
    assert explicit.settings().bootstrap_servers == "127.0.0.1:9092"

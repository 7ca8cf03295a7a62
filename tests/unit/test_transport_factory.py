"""Which adapter family a configuration selects (design §4), and clear errors for unusable files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from skalds.config.skald_config import SkaldConfig
from skalds.config.system_controller_config import SystemControllerConfig
from skalds.transport import factory
from skalds.transport.ports import MisconfiguredError
from skalds.transport.sqlite_db import SCHEMA_VERSION, EmbeddedDatabaseError, SqliteDatabase
from skalds.transport.sqlite_tasks import SqliteTaskStore

pytestmark = pytest.mark.unit

SETTINGS = ("KAFKA_HOST", "MONGO_HOST", "REDIS_HOST", "SKALDS_BACKEND", "SKALDS_EMBEDDED_PATH")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_no_service_host_means_the_embedded_file_in_the_user_data_directory(tmp_path: Path) -> None:
    for config in (SkaldConfig(), SystemControllerConfig()):
        assert factory.choose_backend(config) == "embedded"
        assert factory.embedded_path(config) == tmp_path / "data" / "skalds" / "skalds.db"
        assert factory.describe(config) == f"embedded SQLite file {tmp_path / 'data' / 'skalds' / 'skalds.db'}"


@pytest.mark.parametrize("name", ["KAFKA_HOST", "MONGO_HOST", "REDIS_HOST"])
def test_a_host_in_the_environment_means_the_services(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "127.0.0.1")
    assert factory.choose_backend(SkaldConfig()) == "services"
    assert factory.choose_backend(SystemControllerConfig()) == "services"


def test_a_host_keyword_means_the_services() -> None:
    """The seed's scripts name their hosts: they keep using Kafka, MongoDB and Redis."""
    config = SkaldConfig(kafka_host="127.0.0.1", mongo_host="mongodb://root:root@localhost:27017/")
    assert factory.choose_backend(config) == "services"
    assert factory.describe(config).startswith("services: Kafka 127.0.0.1:9092, MongoDB mongodb://root:******@")


def test_a_host_in_the_dotenv_file_means_the_services(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("REDIS_HOST=10.0.0.5\n")
    assert factory.choose_backend(SkaldConfig()) == "services"


def test_an_empty_host_disables_that_service_and_does_not_select_the_services() -> None:
    assert factory.choose_backend(SkaldConfig(kafka_host="", redis_host="")) == "embedded"


def test_the_backend_setting_overrides_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_HOST", "127.0.0.1")
    monkeypatch.setenv("SKALDS_BACKEND", "Embedded")
    assert factory.choose_backend(SkaldConfig()) == "embedded"
    monkeypatch.delenv("KAFKA_HOST")
    monkeypatch.setenv("SKALDS_BACKEND", "services")
    assert factory.choose_backend(SkaldConfig()) == "services"
    assert factory.choose_backend(SkaldConfig(skalds_backend="auto")) == "embedded"


def test_an_unknown_backend_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="'auto', 'embedded' or 'services'"):
        SkaldConfig(skalds_backend="sqlite")


def test_the_embedded_path_setting_and_home_expansion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SKALDS_EMBEDDED_PATH", str(tmp_path / "mine.db"))
    assert factory.embedded_path(SkaldConfig()) == tmp_path / "mine.db"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert factory.embedded_path(SkaldConfig(skalds_embedded_path="~/x/s.db")) == tmp_path / "home" / "x" / "s.db"


def test_embedded_builders_share_one_file(tmp_path: Path) -> None:
    config = SkaldConfig(skalds_embedded_path=str(tmp_path / "one.db"), kafka_topic_prefix="p.")
    store, live = factory.build_store(config), factory.build_live(config)
    publisher = factory.build_publisher(config)
    consumer = factory.build_consumer(config, "g", [factory.topic_name(config, "task.assign")])
    try:
        assert isinstance(store, SqliteTaskStore)
        store.insert({"id": "t"})
        live.write(lambda batch: batch.set("k", "v"))
        publisher.publish("p.task.assign", "t", "{}")
        event = consumer.poll(5)
        assert event is not None and event.topic == "p.task.assign"
        factory.check_events(config)
        factory.prepare_topics(config, ["p.task.assign"])  # nothing to create
        assert (tmp_path / "one.db").exists()
        assert factory.build_store(config).get("t") == {"id": "t"}
    finally:
        for adapter in (store, live, publisher, consumer):
            adapter.close()


def test_an_unwritable_location_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    config = SkaldConfig(skalds_embedded_path=str(tmp_path / "file" / "skalds.db"))
    with pytest.raises(MisconfiguredError, match="SKALDS_EMBEDDED_PATH"):
        factory.build_store(config).ensure_indexes()


def test_a_file_that_is_not_a_database_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "text.db").write_text("hello, I am a text file, not SQLite" * 100)
    store = factory.build_store(SkaldConfig(skalds_embedded_path=str(tmp_path / "text.db")))
    with pytest.raises(EmbeddedDatabaseError, match=r"text\.db"):
        store.ping()


def test_a_file_from_a_newer_skalds_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    SqliteDatabase(path).ping()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(EmbeddedDatabaseError, match="newer than this Skalds"):
        SqliteDatabase(path).ping()

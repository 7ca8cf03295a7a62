import pytest

from skalds.config._base import mask_uri_credentials
from skalds.config.skald_config import SkaldConfig

pytestmark = pytest.mark.unit


def test_keywords_win_over_environment(monkeypatch):
    monkeypatch.setenv("SKALD_ID", "from-env")
    assert SkaldConfig(skald_id="from-kwarg").skald_id == "from-kwarg"
    assert SkaldConfig().skald_id == "from-env"


def test_environment_types_are_parsed(monkeypatch):
    monkeypatch.setenv("LOG_SPLIT_WITH_WORKER_ID", "yes")
    monkeypatch.setenv("REDIS_PORT", "6390")
    monkeypatch.setenv("SKALD_MODE", "EDGE")
    config = SkaldConfig()
    assert config.log_split_with_worker_id is True
    assert config.redis_port == 6390
    assert config.skald_mode == "edge"


def test_dotenv_file_in_current_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("SKALD_ID", raising=False)
    (tmp_path / ".env").write_text("SKALD_ID=dotenv-node\n")
    monkeypatch.chdir(tmp_path)
    assert SkaldConfig().skald_id == "dotenv-node"


def test_random_id_by_default(monkeypatch):
    monkeypatch.delenv("SKALD_ID", raising=False)
    first, second = SkaldConfig().skald_id, SkaldConfig().skald_id
    assert first.startswith("skalds-") and first != second


def test_unknown_keyword_is_an_error():
    with pytest.raises(ValueError, match="unknown configuration keyword"):
        SkaldConfig(kafka_hots="x")


def test_constructing_config_does_not_touch_environment(monkeypatch):
    import os

    before = dict(os.environ)
    SkaldConfig(skald_id="x", kafka_host="h")
    assert dict(os.environ) == before


def test_secrets_are_redacted():
    config = SkaldConfig(redis_password="s3cret", kafka_password="k", mongo_host="mongodb://u:p@h:1/")
    redacted = config.redacted()
    assert redacted["redis_password"] == "******"
    assert redacted["kafka_password"] == "******"
    assert redacted["mongo_host"] == "mongodb://u:******@h:1/"
    assert "s3cret" not in str(redacted)


def test_dict_returns_all_fields():
    assert SkaldConfig(skald_id="a").dict()["skald_id"] == "a"


def test_mask_uri_without_credentials_is_unchanged():
    assert mask_uri_credentials("mongodb://h:1/") == "mongodb://h:1/"

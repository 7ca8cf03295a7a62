import pytest

from skalds.utils.logging import configure_logging, logger

pytestmark = pytest.mark.unit


def test_lines_name_the_real_caller_and_carry_ids(capfd):
    configure_logging(level="DEBUG", skald_id="node-7", task_id="task-9")
    try:
        logger.info("hello from the test")
        logger.block("Title", ["one", "two"])
    finally:
        configure_logging()
    err = capfd.readouterr().err
    line = next(line for line in err.splitlines() if "hello from the test" in line)
    assert "test_logging.py:test_lines_name_the_real_caller_and_carry_ids:" in line
    assert "node-7" in line and "task-9" in line
    assert " logging.py:" not in line and "| logging.py" not in line
    assert "Title" in err and "  two" in err


def test_split_log_file_per_task(tmp_path):
    configure_logging(level="INFO", skald_id="n", task_id="t", log_path=str(tmp_path), file_name="n_t")
    try:
        logger.info("into the file")
    finally:
        configure_logging()
    assert "into the file" in (tmp_path / "n_t.log").read_text()

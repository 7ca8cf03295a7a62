"""Every command of the README runs, in order, as a reader would run it; the configuration tables cannot rot.

The reader's machine is imitated honestly, with four documented differences: a fresh working folder per run,
an embedded file under a private `XDG_DATA_HOME`, a free port instead of 8000 (`SYSTEM_CONTROLLER_PORT` and
`SKALDS_URL`, and `:8000` in commands), and the test services' ports instead of 9092, 27017 and 6379 in commands
(with the test's own topic prefix, database and key prefix, dropped afterwards). `.venv/bin` comes first on PATH,
as after `source .venv/bin/activate`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from docs.markdown_blocks import Block, Marker, read_document, shell_commands
from support.services import Endpoints
from support.tcp_proxy import free_port

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
HOST_VARIABLES = ("KAFKA_HOST", "KAFKA_PORT", "MONGO_HOST", "REDIS_HOST", "REDIS_PORT", "SKALDS_BACKEND",
                  "SKALDS_EMBEDDED_PATH", "SKALDS_URL", "SKALDS_TOKEN", "API_ADMIN_TOKENS", "API_READ_TOKENS",
                  "SYSTEM_CONTROLLER_PORT", "SKALDS_WORKERS", "VIRTUAL_ENV")
RUN_TIMEOUT = 180
READY_TIMEOUT = 150


@dataclass
class Background:
    name: str
    process: subprocess.Popen
    log: Path
    line: int

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Reader:
    """Runs the README's blocks like a person at a terminal."""

    def __init__(self, tmp_path: Path, services: Endpoints, names: dict[str, str]) -> None:
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.port = free_port()
        self.services = services
        env = {key: value for key, value in os.environ.items() if key not in HOST_VARIABLES}
        env.update({
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "XDG_DATA_HOME": str(tmp_path / "xdg"), "SYSTEM_CONTROLLER_PORT": str(self.port),
            "SKALDS_URL": f"http://127.0.0.1:{self.port}", "COLUMNS": "160", "PYTHONUNBUFFERED": "1",
            "KAFKA_TOPIC_PREFIX": names["topic_prefix"], "DB_NAME": names["db_name"],
            "REDIS_KEY_PREFIX": names["redis_prefix"], "LOG_PATH": "",
        })
        self.env = env
        self.backgrounds: dict[str, Background] = {}

    def localize(self, script: str) -> str:
        script = re.sub(r"(localhost|127\.0\.0\.1):8000\b", f"127.0.0.1:{self.port}", script)
        for default, port in ((9092, self.services.kafka_port), (27017, self.services.mongo_port),
                              (6379, self.services.redis_port)):
            script = re.sub(rf"\b{default}\b", str(port), script)
        return script

    def cwd(self, marker: Marker) -> Path:
        return REPO if marker.options.get("cwd") == "repo" else self.work

    def run(self, block: Block) -> None:
        marker = block.marker
        assert marker is not None
        script = "set -eo pipefail\n" + self.localize(block.text)
        result = subprocess.run(["bash", "-c", script], cwd=self.cwd(marker), env=self.env, capture_output=True,
                                text=True, timeout=RUN_TIMEOUT)
        where = f"README line {block.line}:\n{block.text}\n--- stdout\n{result.stdout[-4000:]}\n" \
                f"--- stderr\n{result.stderr[-4000:]}{self.background_logs()}"
        assert result.returncode == 0, f"exit code {result.returncode} at {where}"
        expected = marker.options.get("expect")
        assert expected is None or expected in result.stdout + result.stderr, f"{expected!r} not printed at {where}"

    def start(self, block: Block) -> None:
        marker = block.marker
        assert marker is not None and marker.words, f"line {marker.line if marker else '?'}: background needs a name"
        name, until = marker.words[0], marker.options["until"]
        commands = shell_commands(block.text)
        if "only" in marker.options:
            assert marker.options.get("rest"), f"line {marker.line}: only= needs rest=\"why the others are not run\""
            commands = commands[:int(marker.options["only"])]
        log = self.work.parent / f"{name}.out"
        with log.open("wb") as out:
            process = subprocess.Popen(["bash", "-c", self.localize("\n".join(commands))], cwd=self.cwd(marker),
                                       env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        background = Background(name, process, log, block.line)
        self.backgrounds[name] = background
        deadline = time.monotonic() + READY_TIMEOUT
        while until not in background.output():
            assert process.poll() is None, f"README line {block.line} exited ({process.returncode}) before " \
                                           f"printing {until!r}:\n{background.output()[-5000:]}"
            assert time.monotonic() < deadline, f"README line {block.line} did not print {until!r} in " \
                                                f"{READY_TIMEOUT}s:\n{background.output()[-5000:]}"
            time.sleep(0.2)

    def stop(self, marker: Marker) -> None:
        """Ctrl-C: SIGINT to the block's foreground process group, as a terminal sends it."""
        background = self.backgrounds.pop(marker.words[0])
        os.killpg(background.process.pid, signal.SIGINT)
        try:
            code = background.process.wait(90)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"README line {background.line} did not stop on Ctrl-C:\n"
                                 f"{background.output()[-5000:]}") from None
        assert code == 0, f"README line {background.line} exited {code} on Ctrl-C:\n{background.output()[-5000:]}"

    def background_logs(self) -> str:
        return "".join(f"\n--- {name} (README line {b.line})\n{b.output()[-3000:]}"
                       for name, b in self.backgrounds.items())

    def close(self) -> None:
        for background in self.backgrounds.values():
            if background.process.poll() is None:
                os.killpg(background.process.pid, signal.SIGKILL)
                background.process.wait(10)


def readme_items() -> list[Block | Marker]:
    return read_document(README.read_text(encoding="utf-8"))


@pytest.mark.unit
def test_every_shell_block_is_marked_and_every_python_block_compiles():
    unmarked, bad = [], []
    for item in readme_items():
        if isinstance(item, Marker):
            if item.kind != "stop" or not item.words:
                bad.append(f"line {item.line}: stand-alone marker {item.kind!r} (only `stop NAME` stands alone)")
            continue
        marker = item.marker
        if item.is_shell and marker is None:
            unmarked.append(f"line {item.line}: {item.text.splitlines()[0] if item.text.strip() else ''}")
        if marker is not None and marker.kind not in ("run", "background", "file", "skip"):
            bad.append(f"line {marker.line}: unknown marker {marker.kind!r}")
        if marker is not None and marker.kind == "skip" and not marker.words:
            bad.append(f"line {marker.line}: skip without a reason")
        if item.lang == "python":
            compile(item.text, f"README.md:{item.line}", "exec")
    assert not unmarked, "shell blocks that no test runs (mark them): " + "; ".join(unmarked)
    assert not bad, "; ".join(bad)


@pytest.mark.integration
@pytest.mark.e2e
def test_readme_commands_run_in_order(tmp_path, services, names, cluster):
    reader = Reader(tmp_path, services, names)
    ran = 0
    try:
        for item in readme_items():
            if isinstance(item, Marker):
                reader.stop(item)
            elif item.marker is None or item.marker.kind == "skip":
                continue
            elif item.marker.kind == "file":
                (reader.work / item.marker.words[0]).write_text(item.text, encoding="utf-8")
            elif item.marker.kind == "run":
                reader.run(item)
                ran += 1
            elif item.marker.kind == "background":
                reader.start(item)
                ran += 1
        assert not reader.backgrounds, f"started and never stopped: {sorted(reader.backgrounds)}"
        assert ran >= 10
    finally:
        reader.close()


# --- the configuration reference ------------------------------------------------------------------------
def _table_after(marker: str) -> list[list[str]]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip() == marker)
    rows = []
    for line in lines[start + 1:]:
        if not line.strip() and not rows:
            continue
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if set(cells[0]) <= {"-"} or cells[0] in ("keyword / variable", "variable"):
            continue
        rows.append(cells)
    assert rows, f"no table after {marker}"
    return rows


def _expected_default(field) -> str | None:
    from enum import Enum

    if field.default_factory is not None:
        return None
    value = field.default
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    return str(value)


def _documented(model_name: str) -> dict[str, str]:
    documented = {}
    for name_cell, default_cell, *_ in _table_after(f"<!-- config-table: {model_name} -->"):
        match = re.fullmatch(r"`([a-z0-9_]+)` / `([A-Z0-9_]+)`", name_cell)
        assert match, f"{model_name} row {name_cell!r} is not `name` / `NAME`"
        assert match.group(2) == match.group(1).upper(), name_cell
        documented[match.group(1)] = default_cell
    return documented


@pytest.mark.unit
@pytest.mark.parametrize("model_name", ["ServiceConfig", "SkaldConfig", "SystemControllerConfig"])
def test_configuration_tables_list_exactly_the_fields_with_their_defaults(model_name):
    from skalds.config._base import ServiceConfig
    from skalds.config.skald_config import SkaldConfig
    from skalds.config.system_controller_config import SystemControllerConfig

    model = {"ServiceConfig": ServiceConfig, "SkaldConfig": SkaldConfig,
             "SystemControllerConfig": SystemControllerConfig}[model_name]
    shared = ServiceConfig.model_fields
    fields = {name: field for name, field in model.model_fields.items()
              if model is ServiceConfig or name not in shared or field.default != shared[name].default}
    documented = _documented(model_name)
    assert set(documented) == set(fields), (f"README lacks {sorted(set(fields) - set(documented))}, "
                                            f"lists unknown {sorted(set(documented) - set(fields))}")
    for name, cell in documented.items():
        expected = _expected_default(fields[name])
        literal = re.fullmatch(r"`([^`]*)`", cell)
        if expected is None:
            continue
        assert literal, f"{name}: default cell {cell!r} should be `{expected}`"
        assert literal.group(1) == expected, f"{name}: README says {literal.group(1)!r}, the model {expected!r}"


@pytest.mark.unit
def test_every_variable_of_the_command_and_the_dev_services_is_documented():
    sources = [*REPO.glob("skalds/devservices/*.py"), *REPO.glob("scripts/*"), *REPO.glob("skalds/cli/*.py")]
    names = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\b(SKALDS_[A-Z_]+)\b", text))
        names |= set(re.findall(r'envvar="([A-Z_]+)"', text))
    names -= {"SKALDS_"}
    table = " ".join(cell for row in _table_after("<!-- env-table -->") for cell in row[:1])
    config_names = {name.upper() for model in ("ServiceConfig", "SkaldConfig", "SystemControllerConfig")
                    for name in _documented(model)}
    missing = sorted(name for name in names if f"`{name}`" not in table and name not in config_names)
    assert not missing, f"variables read by the code but not documented in the README: {missing}"

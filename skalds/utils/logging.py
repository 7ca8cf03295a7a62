"""Logging through loguru, with the node id and task id on every line.

`logger` is a thin proxy that forwards to loguru one stack frame up, so each line names
the caller's real file, function and line (0.3.8 printed `logging.py` for all of them).
It keeps 0.3.8's helpers `block` and `panel`. In a worker whose node captures its output
(`write_records_to`), the console sink writes each record as one structured line to that pipe
instead (level, time, text), so the node can tag, limit and store it (`node/log_capture.py`).
"""

from __future__ import annotations

import contextlib
import datetime
import json as _json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from loguru import logger as _loguru

TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
    "<cyan>{extra[skald_id]}</cyan> <magenta>{extra[task_id]}</magenta> {process} | "
    "<cyan>{file}:{function}:{line}</cyan> - <level>{message}</level>"
)
FILE_FORMAT = (
    "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {extra[skald_id]} {extra[task_id]} {process} | "
    "{file}:{function}:{line} - {message}"
)

_loguru.configure(extra={"skald_id": "-", "task_id": "-"})

RECORD_PREFIX = "\x1eskalds-log "  # starts a structured record on a captured worker's output pipe
MAX_RECORD_BYTES = 16_000  # a whole encoded record; the node cuts a longer line as raw text (MAX_LINE_BYTES)
_record_fd: int | None = None


def write_records_to(fd: int) -> None:
    """From now on the console sink writes structured records to `fd` (the node's output pipe)."""
    global _record_fd
    _record_fd = fd


def _record_line(record: Any) -> bytes:
    text = record["message"]
    exception = record["exception"]
    if exception is not None and exception.type is not None:
        text += "\n" + "".join(traceback.format_exception(exception.type, exception.value, exception.traceback))
    level, ts = record["level"].name, int(record["time"].timestamp() * 1000)
    line, keep = _encoded(level, ts, text), len(text)
    while len(line) > MAX_RECORD_BYTES:  # escapes (a newline, a quote, \uXXXX) can make a character 12 bytes
        keep = max(0, min(keep - 1, keep * MAX_RECORD_BYTES // len(line) - 100))
        line = _encoded(level, ts, text[:keep] + f" ... ({len(text) - keep} characters cut)")
    return line


def _encoded(level: str, ts: int, text: str) -> bytes:
    return (RECORD_PREFIX + _json.dumps({"l": level, "t": ts, "m": text}) + "\n").encode("utf-8", "replace")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: str) -> str:
    """A worker's text for a terminal or a log file: control characters escaped (no colours, no carriage
    return over a line), and each further line indented, so no line of it can pass for a line of ours."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text).replace("\n", "\n    ")


def worker_line(skald_id: str, line: Any) -> str:
    """A worker's log line (`transport.ports.LogLine`) as the node's own log shows it (FILE_FORMAT's shape)."""
    when = datetime.datetime.fromtimestamp(line.ts / 1000)
    return (f"{when:%Y-%m-%d %H:%M:%S}.{when.microsecond // 1000:03d} | {line.level: <8} | {skald_id} "
            f"{line.task_id} #{line.attempt} | worker {line.source} - {printable(line.text)}\n")


class _Console:
    """The console sink: stderr, or the structured pipe of a captured worker."""

    def write(self, message: Any) -> None:
        fd = _record_fd
        if fd is None:
            sys.stderr.write(message)
            return
        with contextlib.suppress(OSError):  # the node is gone: the worker's watchdog ends the process
            os.write(fd, _record_line(message.record))

    def flush(self) -> None:
        if _record_fd is None:
            sys.stderr.flush()

    def isatty(self) -> bool:
        return _record_fd is None and sys.stderr.isatty()


_CONSOLE = _Console()


class SkaldsLogger:
    """Forwards every loguru method, reporting the caller's location."""

    def _emit(self, level: str, message: Any, *args: Any, **kwargs: Any) -> None:
        _loguru.opt(depth=2).log(level, str(message), *args, **kwargs)

    def trace(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("TRACE", message, *args, **kwargs)

    def debug(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("DEBUG", message, *args, **kwargs)

    def info(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("INFO", message, *args, **kwargs)

    def success(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("SUCCESS", message, *args, **kwargs)

    def warning(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("WARNING", message, *args, **kwargs)

    def error(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("ERROR", message, *args, **kwargs)

    def critical(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("CRITICAL", message, *args, **kwargs)

    def exception(self, message: Any, *args: Any, **kwargs: Any) -> None:
        _loguru.opt(depth=1, exception=True).error(str(message), *args, **kwargs)

    def block(self, title: str, lines: list[str] | str, level: str = "INFO", **_: Any) -> None:
        """A titled group of lines (0.3.8 helper)."""
        body = lines if isinstance(lines, str) else "\n".join(f"  {line}" for line in lines)
        _loguru.opt(depth=1).log(level.upper(), f"{title}\n{body}")

    def panel(self, content: Any, title: str = "", level: str = "INFO", **_: Any) -> None:
        """A titled message (0.3.8 helper; rendered as plain text)."""
        _loguru.opt(depth=1).log(level.upper(), f"[{title}] {content}" if title else str(content))

    def __getattr__(self, name: str) -> Any:
        return getattr(_loguru, name)


logger = SkaldsLogger()


_stderr_only_signature: tuple[str, bool] | None = None  # sinks set up by the last call, when stderr only
# (adding a loguru sink costs several ms: the worker fork server sets it up once, and a worker that only
# names its task keeps the inherited sink)


def configure_logging(
    *,
    level: str = "INFO",
    skald_id: str = "-",
    task_id: str = "-",
    log_path: str | None = None,
    file_name: str | None = None,
    rotation_mb: int = 10,
    retention: str = "3 days",
    json: bool = False,
) -> None:
    """Replace the process's sinks: stderr, plus an own file under `log_path` when given.

    Only files this function creates are rotated and removed by retention; nothing else
    under `log_path` is touched (0.3.8's cleaner deleted any old file there).
    """
    global _stderr_only_signature
    signature = (level, json)
    if not (log_path and file_name) and _stderr_only_signature == signature:
        _loguru.configure(extra={"skald_id": skald_id, "task_id": task_id})  # same sinks: only the context
        return
    _loguru.remove()
    _loguru.configure(extra={"skald_id": skald_id, "task_id": task_id})
    _stderr_only_signature = None if (log_path and file_name) else signature
    _loguru.add(_CONSOLE, level=level, format=TEXT_FORMAT, serialize=json, colorize=None if not json else False,
                enqueue=False, backtrace=False, diagnose=False)
    if log_path and file_name:
        Path(log_path).mkdir(parents=True, exist_ok=True)
        _loguru.add(
            str(Path(log_path) / f"{file_name}.log"),
            level=level,
            format=FILE_FORMAT,
            serialize=json,
            rotation=f"{max(1, rotation_mb)} MB",
            retention=retention,
            encoding="utf-8",
            backtrace=False,
            diagnose=False,
        )


def init_logger(logger_name: str, level: str = "INFO", log_path: str = "logs", process_id: str = "",
                rotation: str = "20") -> None:
    """0.3.8 entry point kept for scripts that call it."""
    configure_logging(level=level, skald_id=process_id or logger_name, log_path=log_path or None,
                      file_name=logger_name, rotation_mb=int(rotation or 20))

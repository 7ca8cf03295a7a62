"""What `skalds dev` decides before it starts anything: names, environment, log folder, the banner."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from skalds.cli.client import default_url

DEFAULT_PORT = 8000


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def api_token() -> str | None:
    tokens = os.environ.get("SKALDS_TOKEN") or os.environ.get("API_ADMIN_TOKENS") or os.environ.get(
        "API_READ_TOKENS") or ""
    return tokens.split(",")[0].strip() or None


def node_name(port: int, index: int) -> str:
    """Stable ids (a restarted `skalds dev` resumes its nodes' tasks), distinct per port: two `skalds dev` on
    one embedded file must not share a node id (they would share its consumer group and its keys)."""
    return f"dev-node-{index}" if port == DEFAULT_PORT else f"dev{port}-node-{index}"


def log_folder() -> Path | None:
    """LOG_PATH if the person set it (environment or `.env`; empty means no files), else `logs` in the data
    folder: beside the embedded file (`~/.local/share/skalds` by default), never `./logs` of wherever
    `skalds dev` was started."""
    from skalds.config.environment import read_environment
    from skalds.transport import factory

    given = read_environment().get("LOG_PATH")
    if given is not None:
        return Path(given).expanduser() if given else None
    try:
        from skalds.config.system_controller_config import SystemControllerConfig

        config = SystemControllerConfig()
        data = factory.embedded_path(config).parent if factory.is_embedded(config) else None
    except Exception:  # an invalid setting: the controller will name it; the logs go to the default folder
        data = None
    return (data or factory.default_embedded_path().parent) / "logs"


def child_env(logs: Path | None) -> dict[str, str]:
    """The user's environment, plus the current directory on the import path (their worker modules) and
    the log folder."""
    env = dict(os.environ)
    path = [os.getcwd(), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
    env["PYTHONUNBUFFERED"] = "1"
    env["LOG_PATH"] = str(logs) if logs is not None else ""
    return env


def backend_line() -> str:
    """Which transport the children chose (they read the same environment)."""
    try:
        from skalds.config.system_controller_config import SystemControllerConfig
        from skalds.transport.factory import describe

        return describe(SystemControllerConfig())
    except Exception as error:  # the banner must never stop a running system
        return f"unknown ({error})"


def banner(url: str, nodes: int, classes: list[str], logs: Path | None) -> str:
    """What a person needs once it runs; the commands name --url unless they reach this controller anyway."""
    to_url = "" if url == default_url() else f" --url {url}"
    return (f"\n[bold green]Skalds is running[/]: controller + {nodes} node(s) running {', '.join(classes)}\n"
            f"  Dashboard: [bold]{url}/dashboard[/]\n"
            f"  API docs:  {url}/api/docs\n"
            f"  Backend:   {backend_line()}\n"
            f"  Logs:      {logs if logs is not None else 'this terminal only (LOG_PATH is empty)'}\n"
            f"  Try:       skalds task create {classes[0]} --attachments '{{}}'{to_url}\n"
            f"             skalds task list{to_url}\n"
            f"             skalds nodes{to_url}\n"
            "  Ctrl-C stops everything.\n")

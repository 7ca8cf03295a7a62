"""Find the external programs the services need, installing Debian packages when missing."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from .console import phase
from .errors import ServiceError
from .procs import run_logged

_apt_lock = threading.Lock()  # services start in parallel threads; dpkg allows one install at a time


def which(name: str, extra_dirs: tuple[str, ...] = ()) -> str | None:
    """``shutil.which`` that also looks in well-known dirs missing from a CI PATH (/usr/local/go/bin)."""
    found = shutil.which(name)
    if found:
        return found
    for d in extra_dirs:
        candidate = Path(d) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def apt_install(service: str, packages: list[str], log: Path) -> None:
    """``apt-get install -y``; runs ``apt-get update`` first only if the plain install fails.

    Needs root (the project's machines and CI run as root); otherwise says what to run.
    """
    if os.geteuid() != 0:
        raise ServiceError(service, f"missing {' '.join(packages)}; run: sudo apt-get install -y "
                                    f"{' '.join(packages)}")
    if which("apt-get") is None:
        raise ServiceError(service, f"missing {' '.join(packages)} and there is no apt-get to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    with _apt_lock, phase(service, f"installing {' '.join(packages)} with apt-get"):
        try:
            run_logged(service, cmd, log, env=env, what="apt-get install")
        except ServiceError:
            run_logged(service, ["apt-get", "update"], log, env=env, what="apt-get update")
            run_logged(service, cmd, log, env=env, what="apt-get install")


def require(service: str, name: str, apt_package: str | None, log: Path,
            extra_dirs: tuple[str, ...] = ()) -> str:
    """Path of program ``name``, installing ``apt_package`` if it is missing and one is given."""
    found = which(name, extra_dirs)
    if found:
        return found
    if apt_package is None:
        raise ServiceError(service, f"{name} not found on PATH")
    apt_install(service, [apt_package], log)
    found = which(name, extra_dirs)
    if not found:
        raise ServiceError(service, f"{name} still not found after installing {apt_package}", log)
    return found

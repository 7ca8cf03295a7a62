"""The System Controller: REST API, monitor and dispatcher.

`from skalds.system_controller import SystemController, SystemControllerConfig` works
(0.3.8 documented it but it failed); the heavy imports happen on first use.
"""

from typing import Any

__all__ = ["SystemController", "SystemControllerConfig"]


def __getattr__(name: str) -> Any:
    if name == "SystemController":
        from skalds.system_controller.main import SystemController

        return SystemController
    if name == "SystemControllerConfig":
        from skalds.config.system_controller_config import SystemControllerConfig

        return SystemControllerConfig
    raise AttributeError(name)

"""0.3.8's `SystemConfig`: settings as class attributes, read from the environment at import.

Kept for scripts that read it; Skalds itself resolves settings per `SkaldConfig` /
`SystemControllerConfig` object and never writes here.
"""

from __future__ import annotations

from skalds.config.skald_config import SkaldConfig
from skalds.config.system_controller_config import SystemControllerConfig


def _load() -> dict[str, object]:
    values: dict[str, object] = {}
    for config in (SystemControllerConfig(), SkaldConfig()):
        values.update({name.upper(): value for name, value in config.model_dump().items()})
    return values


class SystemConfig:
    pass


for _name, _value in _load().items():
    setattr(SystemConfig, _name, _value)

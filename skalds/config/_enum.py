"""Configuration enums (string values as in 0.3.8)."""

from enum import Enum


class _ListableEnum(str, Enum):
    @classmethod
    def list(cls) -> list[str]:
        return [member.value for member in cls]


class LogLevelEnum(_ListableEnum):
    TRACE = "TRACE"
    DEBUG = "DEBUG"
    INFO = "INFO"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class SkaldEnvEnum(_ListableEnum):
    DEV = "DEV"
    PRODUCTION = "PRODUCTION"


class BackendEnum(_ListableEnum):
    """SKALDS_BACKEND: the transport family (auto = services if a host is configured, else embedded)."""

    AUTO = "auto"
    EMBEDDED = "embedded"
    SERVICES = "services"


class SkaldModeEnum(_ListableEnum):
    EDGE = "edge"
    NODE = "node"
    SINGLE_PROCESS = "single_process"


class SystemControllerModeEnum(_ListableEnum):
    CONTROLLER = "CONTROLLER"
    MONITOR = "MONITOR"
    DISPATCHER = "DISPATCHER"


class DispatcherStrategyEnum(_ListableEnum):
    LEAST_TASKS = "LEAST_TASKS"
    ROUND_ROBIN = "ROUND_ROBIN"
    RANDOM = "RANDOM"

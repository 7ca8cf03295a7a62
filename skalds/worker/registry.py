"""Registered worker classes of one Skald, by class name (0.3.8's `TaskWorkerFactory`)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from skalds.model.attachment_registry import register_attachment_model
from skalds.utils.logging import logger
from skalds.worker.baseclass import AbstractTaskWorker

MAX_SCHEMA_BYTES = 32 * 1024  # one class's attachments schema, as JSON; a larger one is not published


class WorkerRegistry:
    def __init__(self) -> None:
        self._classes: dict[str, type[AbstractTaskWorker[Any]]] = {}
        self._schemas: tuple[tuple[str, ...], str] | None = None  # (class names, their schemas as JSON)

    def register(self, worker_class: type[AbstractTaskWorker[Any]]) -> None:
        if not (isinstance(worker_class, type) and issubclass(worker_class, AbstractTaskWorker)):
            raise ValueError(f"{worker_class!r} is not a BaseTaskWorker subclass")
        model = worker_class.get_data_model()
        name = worker_class.__name__
        if name in self._classes and self._classes[name] is not worker_class:
            logger.warning(f"worker class {name} registered again: the later registration replaces the earlier")
        self._classes[name] = worker_class
        register_attachment_model(name, model)

    def get(self, class_name: str) -> type[AbstractTaskWorker[Any]] | None:
        return self._classes.get(class_name)

    def names(self) -> list[str]:
        return list(self._classes)

    def model_for(self, class_name: str) -> type[BaseModel] | None:
        worker_class = self._classes.get(class_name)
        return worker_class.get_data_model() if worker_class else None

    def schemas_json(self) -> str:
        """The JSON Schema of each class's attachments model (pydantic's `model_json_schema`), as one JSON object
        by class name, made once per set of classes. The node publishes it with its registration so the
        controller refuses invalid attachments where they enter; a class whose schema cannot be made or is
        larger than MAX_SCHEMA_BYTES is left out (the controller then does not check its attachments)."""
        names = tuple(self._classes)
        if self._schemas is None or self._schemas[0] != names:
            schemas: dict[str, Any] = {}
            for name, worker_class in self._classes.items():
                try:
                    text = json.dumps(worker_class.get_data_model().model_json_schema(by_alias=True))
                except Exception as error:  # a model with a type JSON Schema cannot describe
                    logger.warning(f"worker class {name}: no JSON Schema for its attachments ({error}); "
                                   "the controller will not check them")
                    continue
                if len(text) > MAX_SCHEMA_BYTES:
                    logger.warning(f"worker class {name}: its attachments schema is {len(text)} bytes, more than "
                                   f"{MAX_SCHEMA_BYTES}; not published, the controller will not check them")
                    continue
                schemas[name] = json.loads(text)
            self._schemas = (names, json.dumps(schemas, separators=(",", ":")))
        return self._schemas[1]

    def modules(self) -> list[str]:
        """Modules to import once in the fork server so each worker starts pre-imported."""
        return sorted({cls.__module__ for cls in self._classes.values() if cls.__module__ != "__main__"})


class TaskWorkerFactory:
    """0.3.8's class-level registry, kept for scripts that used it directly."""

    default = WorkerRegistry()

    @classmethod
    def register_task_worker_class(cls, worker_class: type[AbstractTaskWorker[Any]]) -> None:
        cls.default.register(worker_class)

    @classmethod
    def get_all_task_worker_class_names(cls) -> list[str]:
        return cls.default.names()

    @classmethod
    def create_attachment_with_class_name_and_dict(cls, class_name: str, data: dict[str, Any]) -> BaseModel | None:
        model = cls.default.model_for(class_name)
        if model is None:
            return None
        try:
            return model.model_validate(data)
        except Exception as error:
            logger.warning(f"attachments for {class_name} are invalid: {error}")
            return None

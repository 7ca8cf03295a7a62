"""Registered worker classes of one Skald, by class name (0.3.8's `TaskWorkerFactory`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from skalds.model.attachment_registry import register_attachment_model
from skalds.utils.logging import logger
from skalds.worker.baseclass import AbstractTaskWorker


class WorkerRegistry:
    def __init__(self) -> None:
        self._classes: dict[str, type[AbstractTaskWorker[Any]]] = {}

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

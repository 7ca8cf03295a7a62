"""Which pydantic model validates the attachments of each worker class name.

Filled when a worker class is registered; read by the repository's strict mode.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_models: dict[str, type[BaseModel]] = {}


def register_attachment_model(class_name: str, model: type[BaseModel]) -> None:
    _models[class_name] = model


def validate_attachments(class_name: str, raw: Any) -> BaseModel:
    """Validate stored attachments with the registered model; raises LookupError or ValidationError."""
    model = _models.get(class_name)
    if model is None:
        raise LookupError(f"no worker class {class_name!r} is registered here")
    if isinstance(raw, model):
        return raw
    if isinstance(raw, BaseModel):
        raw = raw.model_dump(by_alias=True)
    return model.model_validate(raw if raw is not None else {})

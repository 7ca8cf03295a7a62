"""Driver exceptions become port errors at the adapter's edge (one wrapper per adapter class)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

Translator = Callable[[Exception], Exception | None]
C = TypeVar("C", bound=type)


F = TypeVar("F", bound=Callable[..., Any])


def translated(translate: Translator) -> Callable[[F], F]:
    """An exception `translate` maps is raised as its port error (chained to the driver's); anything
    else propagates unchanged."""

    def wrap(function: F) -> F:
        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception as error:
                replacement = translate(error)
                if replacement is None or replacement is error:
                    raise
                raise replacement from error
        return call  # type: ignore[return-value]

    return wrap


def translating(translate: Translator) -> Callable[[C], C]:
    """`translated` on every public method of the class and of its bases."""

    def decorate(cls: C) -> C:
        members = {name: member for klass in reversed(cls.__mro__[:-1]) for name, member in vars(klass).items()}
        for name, member in members.items():  # a mixin's methods too (checkpoints)
            if not name.startswith("_") and callable(member) and not isinstance(member, (staticmethod, classmethod)):
                setattr(cls, name, translated(translate)(member))
        return cls

    return decorate

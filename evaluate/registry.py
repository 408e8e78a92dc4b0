"""A name -> object registry filled by a decorator; one instance per kind (tasks, methods, encoders)."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from labeler.errors import CxrError

T = TypeVar("T")


class Registry(Generic[T]):
    """Adding a task or method is one new module plus ``@REGISTRY.register("name")``."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            return obj
        return decorate

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise CxrError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

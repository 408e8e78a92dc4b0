"""The one name -> object registry, filled by a decorator.

Used for objectives, image backbones, text encoders (pretrain), tasks, methods and encoder sources
(evaluate): adding one is a new module plus ``@REGISTRY.register("name")``; nothing else lists names.
"""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from cxr.core.errors import CxrError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj
        return add

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise CxrError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        """Registration order: tasks and methods are listed the way their modules present them."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

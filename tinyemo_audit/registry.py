"""A tiny name → factory registry whose failed lookups list the valid choices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names (and ``scheme:`` prefixes) to factories.

    ``resolve("faces")`` calls the factory registered for ``faces`` with no argument;
    ``resolve("features:/data/x")`` calls the factory registered for the scheme ``features``
    with ``"/data/x"``.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._names: dict[str, Callable[..., T]] = {}
        self._schemes: dict[str, Callable[..., T]] = {}

    def add(self, name: str, factory: Callable[..., T]) -> None:
        self._names[name] = factory

    def add_scheme(self, scheme: str, factory: Callable[..., T]) -> None:
        self._schemes[scheme] = factory

    def choices(self) -> list[str]:
        return sorted(self._names) + sorted(f"{s}:<...>" for s in self._schemes)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names))

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def validate(self, spec: str) -> str:
        """Raise UnknownNameError unless ``spec`` names a registered name or scheme."""
        scheme, sep, _ = spec.partition(":")
        if spec in self._names or (sep and scheme in self._schemes):
            return spec
        raise UnknownNameError(self.kind, spec, self.choices())

    def resolve(self, spec: str, **kwargs) -> T:
        if spec in self._names:
            return self._names[spec](**kwargs)
        scheme, sep, rest = spec.partition(":")
        if sep and scheme in self._schemes:
            return self._schemes[scheme](rest, **kwargs)
        raise UnknownNameError(self.kind, spec, self.choices())

"""Name -> object registries with did-you-mean errors."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from benchmark.core.errors import UserError

T = TypeVar("T")


def did_you_mean(name: str, choices: list[str]) -> str:
    """A short hint naming the closest valid choice, or listing all of them."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return "choose one of: " + ", ".join(choices)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object with the one-line description shown by ``ls``."""

    name: str
    description: str
    load: Callable[[], T]


class Registry(Generic[T]):
    """Named entries of one kind (methods, datasets, ...), loaded lazily on lookup."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def add(self, name: str, description: str, load: Callable[[], T]) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = Entry(name, description, load)

    def names(self) -> list[str]:
        return list(self._entries)

    def entry(self, name: str) -> Entry[T]:
        if name not in self._entries:
            raise UserError(f"unknown {self.kind} '{name}': {did_you_mean(name, self.names())}")
        return self._entries[name]

    def get(self, name: str) -> T:
        return self.entry(name).load()

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

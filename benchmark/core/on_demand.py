"""A read-only mapping whose values are made the first time they are read.

The embedded judges are such values: each one is loaded from the cache, or trained (tens
of seconds) and cached, only when a run scores a metric that needs it. A run of one task
on cold caches then trains the judges of that task's target modality and modality pairs,
not all of them (benchmark/run/preparation.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class OnDemand(Mapping[K, V]):
    """``{key: makers[key]()}``, each value made once, on its first read.

    Iterating, ``in`` and ``len`` see the keys without making any value, so code can say
    which values exist (and build closures that read them later) without paying for them.
    Making a value leaves the caller's global torch random state as it was: a value made in
    the middle of a run (between two samplings, say) cannot change what follows it.
    """

    def __init__(self, makers: Mapping[K, Callable[[], V]]) -> None:
        self._makers = dict(makers)
        self._values: dict[K, V] = {}

    def __getitem__(self, key: K) -> V:
        if key not in self._values:
            maker = self._makers[key]  # a KeyError names a key that has no value
            import torch

            with torch.random.fork_rng(devices=[]):
                self._values[key] = maker()
        return self._values[key]

    def __contains__(self, key: object) -> bool:  # Mapping's own would make the value
        return key in self._makers

    def __iter__(self) -> Iterator[K]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)

    def make(self, keys: Iterable[K] | None = None) -> None:
        """Make the values of those ``keys`` that this mapping has (others are ignored);
        of every key when ``keys`` is None."""
        for key in self._makers if keys is None else keys:
            if key in self._makers:
                self.__getitem__(key)

    @property
    def made(self) -> list[K]:
        """The keys whose values have been made, in the order they were."""
        return list(self._values)

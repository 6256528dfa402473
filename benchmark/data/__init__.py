"""Datasets anybench can run on, registered by name (modules imported lazily).

A new dataset is one module (or package) with a factory that takes the dataset's
settings as keyword arguments and returns a :class:`~benchmark.data.dataset.Dataset`,
plus one ``DATASETS.add`` line here; profiles then name it with its settings, and the
contract test (``tests/test_dataset_contract.py``) checks it with no other file touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from benchmark.core.registry import Registry
from benchmark.data.dataset import Dataset, DatasetFactory

DATASETS: Registry[DatasetFactory] = Registry("dataset", "anybench.datasets")


def _lazy(module: str, name: str) -> Callable[[], DatasetFactory]:
    """A loader that imports ``module`` only when the dataset is used."""
    return lambda: getattr(import_module(module), name)


def build_dataset(name: str, settings: Mapping[str, Any]) -> Dataset:
    """The dataset registered as ``name`` (or whose factory a ``path/to/file.py:Name``
    names), built from ``settings``."""
    return DATASETS.get(name)(**settings)


DATASETS.add(
    "scenes",
    "embedded, procedurally generated shapes rendered as image, caption and sound (offline)",
    _lazy("benchmark.data.scenes", "Scenes"),
)

"""The Dataset interface: what the harness asks of every dataset it runs on.

A dataset is built by the factory registered under its name (``benchmark.data.DATASETS``)
from keyword settings, e.g. ``scenes`` from ``n_train=1200, n_test=100``. The harness
then uses only what this protocol declares: the name and version for record fields and
evaluator ids, the content key for the caches of everything trained or computed from
the data, and the two media splits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from benchmark.core.feature_split import FeatureSplit
from benchmark.core.hooks import Hooked, abstractmethod
from benchmark.core.media_split import MediaSplit

SPLITS: tuple[str, ...] = ("train", "test")
"""The splits every dataset has: ``train`` (items may lack any modality) and ``test``."""


KINDS: tuple[str, ...] = ("media", "embeddings")
"""What a dataset holds: ``media`` (backbones encode it, decoders make media again) or
precomputed ``embeddings`` (nothing decodes; only decoder-free metrics apply)."""


class Dataset(Hooked):
    """A dataset with pairing and label columns, loaded as two splits: :class:`MediaSplit`
    for ``kind == "media"``, :class:`FeatureSplit` for ``kind == "embeddings"``. Every
    dataset subclasses it and defines its hooks (``name`` and ``kind`` may be plain class
    attributes).

    ``train`` items may lack any modality (``present``); ``test`` items should hold every
    modality the tasks run on need (the harness checks per task). Each split's
    ``attributes`` are the label columns (``attribute_names``, each taking
    ``attribute_sizes[j]`` values, ``-1`` where a training item has no label) that attribute
    judges are trained on and scored with; a dataset may have none.
    """

    hooks_doc = "benchmark/data/dataset.py"

    @property
    @abstractmethod
    def kind(self) -> str:
        """One of :data:`KINDS`. A dataset of ``embeddings`` also has ``embedding_dims() ->
        {modality: width}``, read without loading the arrays (methods are sized from it)."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The registered name; run records say ``<name>:<profile>``."""

    @property
    @abstractmethod
    def version(self) -> str:
        """The version of the data, named by the evaluators trained on it: ``judge:<version>``,
        ``contrastive-judge:<version>``, ``backbone:<version>`` (e.g. ``scenes-v1``)."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Every setting, defaults included: the keyword arguments that rebuild this dataset
        from its factory (kept in each run record)."""

    @abstractmethod
    def key(self) -> str:
        """A content hash of everything that changes the loaded data; the cache of the data
        and of everything computed from it (backbones, judges, embeddings) is keyed by it."""

    @abstractmethod
    def load(self, progress: bool = True) -> dict[str, MediaSplit] | dict[str, FeatureSplit]:
        """``{"train": ..., "test": ...}``, the same arrays on every call (cached as needed)."""


@runtime_checkable
class Previewable(Protocol):
    """A dataset that can write files a person looks at or listens to (``prepare --preview``)."""

    def write_preview(self, split: MediaSplit, out_dir: Path) -> list[Path]:
        """Write a preview of ``split`` under ``out_dir``; return the paths written."""


DatasetFactory = Callable[..., Dataset]
"""What ``DATASETS`` holds: keyword settings -> a :class:`Dataset`; an unknown setting is a
``UserError``. A factory may carry ``small_settings``, a dict of settings that make a small
instance loading in seconds, or ``small_example(folder) -> settings``, which writes a small
instance into an empty ``folder`` (datasets read from a path): the dataset contract test
(tests/contracts/test_dataset_contract.py) checks every registered dataset at those settings (at its
defaults where it has neither)."""

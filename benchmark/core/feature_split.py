"""A split of a dataset held as precomputed per-modality embeddings (no media)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.core.modalities import MODALITIES, Modality


@dataclass
class FeatureSplit:
    """Embeddings of ``N`` items; a modality's rows are meaningful only where it is present.

    Attributes:
        embeddings: ``{m: float [N, D_m]}`` for every modality in :data:`MODALITIES`
            (possibly memory-mapped; rows of items without ``m`` are ignored).
        present: ``bool [N, 3]``; column ``j`` says whether ``MODALITIES[j]`` exists.
        attributes: ``int64 [N, A]`` label indices (``-1``: the item has no label there).
        attribute_names: names of the label columns.
        attribute_sizes: how many values each label column can take.
        item_lines: the manifest line of each item, for error messages (None if unknown).
    """

    embeddings: dict[Modality, np.ndarray]
    present: np.ndarray
    attributes: np.ndarray
    attribute_names: tuple[str, ...]
    attribute_sizes: tuple[int, ...]
    item_lines: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.present)

    def has(self, modality: Modality) -> np.ndarray:
        """``bool [N]``: which items have ``modality``."""
        return self.present[:, MODALITIES.index(modality)]

    def dims(self) -> dict[Modality, int]:
        """The embedding dimension of each modality."""
        return {m: int(self.embeddings[m].shape[1]) for m in MODALITIES}

"""Per-modality embeddings of a dataset split: what methods train and sample on.

A media dataset's embeddings are computed once by the backbones and cached; a dataset of
precomputed embeddings is standardized per dimension with its training split's statistics
(as FlowBind standardizes its frozen features). An :class:`EmbeddedSplit` holds them; rows
of a modality that is absent for an item hold zeros and ``present[m][i] = False``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

from benchmark.core.cache import cache_root, config_hash, load_or_build
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES, Modality


@dataclass
class EmbeddedSplit:
    """Per-modality embeddings ``{m: Tensor[N, D_m]}`` of one split, and which items have
    each modality ``{m: BoolTensor[N]}``."""

    embeddings: dict[Modality, Tensor]
    present: dict[Modality, Tensor]

    def __len__(self) -> int:
        return len(next(iter(self.present.values())))

    def batch(self, index: Tensor) -> dict:
        """The method-facing batch ``{m: Tensor[B, D_m], "present": {m: BoolTensor[B]}}``."""
        batch: dict = {m: z[index] for m, z in self.embeddings.items()}
        batch["present"] = {m: p[index] for m, p in self.present.items()}
        return batch


def embed_split(
    backbones: Mapping[Modality, torch.nn.Module],
    split: MediaSplit,
    key: str,
    root: Path | None = None,
) -> EmbeddedSplit:
    """Encode every present item of ``split`` with its modality's backbone (cached by ``key``).

    ``key`` must hash everything that changes the result: the dataset, the split and the
    backbones' configuration.
    """
    path = (root or cache_root()) / "embeddings" / f"{config_hash(key)}.pt"
    return load_or_build(path, lambda: _encode(backbones, split), save=_save, load=_load)


def _encode(backbones: Mapping[Modality, torch.nn.Module], split: MediaSplit) -> EmbeddedSplit:
    """Every present item of ``split`` encoded; zeros where a modality is absent."""
    embeddings, present = {}, {}
    for modality in MODALITIES:
        has = split.has(modality)
        z = torch.zeros(len(split), backbones[modality].dim)
        index = np.flatnonzero(has)
        media = split.media(modality)
        selected = [media[i] for i in index] if modality == "text" else media[index]
        if len(index):
            z[torch.from_numpy(index)] = backbones[modality].encode(selected)
        embeddings[modality], present[modality] = z, torch.from_numpy(has.copy())
    return EmbeddedSplit(embeddings, present)


def standardized_features(splits: Mapping[str, FeatureSplit],
                          chunk: int = 65_536) -> dict[str, EmbeddedSplit]:
    """Precomputed features as methods see them: for each modality m and dimension d,

        z_id = (x_id - mu_d) / sigma_d,

    with mu and sigma the mean and standard deviation of x over the training items that
    have m (sigma < 1e-8, a constant dimension, counts as 1); rows of items without m are
    zeros. Statistics are accumulated in float64 over row chunks, so memory-mapped arrays
    are read in two passes."""
    train = splits["train"]
    stats = {m: _mean_std(x, train.has(m), chunk) for m, x in train.embeddings.items()}
    embedded = {}
    for name, split in splits.items():
        embeddings, present = {}, {}
        for modality, x in split.embeddings.items():
            has = split.has(modality)
            mean, std = stats[modality]
            z = np.zeros(x.shape, dtype=np.float32)
            for start in range(0, len(x), chunk):
                rows = slice(start, start + chunk)
                block = (np.asarray(x[rows], dtype=np.float64) - mean) / std
                z[rows] = np.where(has[rows, None], block, 0.0)
            embeddings[modality] = torch.from_numpy(z)
            present[modality] = torch.from_numpy(has.copy())
        embedded[name] = EmbeddedSplit(embeddings, present)
    return embedded


def _mean_std(x: np.ndarray, has: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation of the rows of ``x`` where ``has`` (two
    passes: the mean, then the squared deviations from it)."""
    n = max(int(has.sum()), 1)
    blocks = [slice(start, start + chunk) for start in range(0, len(x), chunk)]
    mean = sum(np.asarray(x[b], dtype=np.float64)[has[b]].sum(axis=0) for b in blocks) / n
    squares = sum(((np.asarray(x[b], dtype=np.float64)[has[b]] - mean) ** 2).sum(axis=0)
                  for b in blocks)
    std = np.sqrt(squares / n)
    return mean, np.where(std < 1e-8, 1.0, std)


def _save(split: EmbeddedSplit, path: Path) -> None:
    with path.open("wb") as file:  # through a handle: the archive is named "archive", not path
        torch.save({"embeddings": split.embeddings, "present": split.present}, file)


def _load(path: Path) -> EmbeddedSplit:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return EmbeddedSplit(state["embeddings"], state["present"])


class BatchedEmbeddings(Dataset):
    """Indexed by a list of row indices (from a BatchSampler), returns a whole batch."""

    def __init__(self, split: EmbeddedSplit) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: list[int]) -> dict:
        return self.split.batch(torch.as_tensor(index))


class ShardedBatchSampler(BatchSampler):
    """Full global batches of ``batch_size * world_size`` rows in ``sampler``'s order, of
    which this ``rank`` yields rows ``[rank * batch_size, (rank + 1) * batch_size)``: the
    ranks of one data-parallel training see disjoint rows of every global batch, and at
    ``world_size`` 1 this is a plain ``BatchSampler(sampler, batch_size, drop_last=True)``.
    """

    def __init__(self, sampler: RandomSampler, batch_size: int, rank: int = 0,
                 world_size: int = 1) -> None:
        super().__init__(sampler, batch_size * world_size, drop_last=True)
        self.rank_rows = slice(rank * batch_size, (rank + 1) * batch_size)

    def __iter__(self):
        for batch in super().__iter__():
            yield batch[self.rank_rows]


def training_loader(split: EmbeddedSplit, batch_size: int, seed: int, rank: int = 0,
                    world_size: int = 1) -> DataLoader:
    """Shuffled full batches of ``batch_size`` rows, reshuffled each epoch from a generator
    seeded with ``seed``. Under data parallelism every rank draws the same permutation and
    takes its own share of each global batch (:class:`ShardedBatchSampler`), so a run is
    reproducible for a given world size."""
    sampler = ShardedBatchSampler(
        RandomSampler(range(len(split)), generator=torch.Generator().manual_seed(seed)),
        batch_size, rank, world_size,
    )
    return DataLoader(BatchedEmbeddings(split), batch_size=None, sampler=sampler)

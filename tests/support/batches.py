"""Partially paired embedding batches and quiet Lightning training on the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from benchmark.core.modalities import MODALITIES

if TYPE_CHECKING:
    import pytorch_lightning as pl


#: Presence flags (in ``MODALITIES`` order) of the three pair groups: text-image,
#: text-audio, image-audio.
PAIR_GROUPS = ((True, True, False), (True, False, True), (False, True, True))


def presence(n: int, patterns: Sequence[tuple[bool, ...]] = PAIR_GROUPS) -> dict[str, Tensor]:
    """``present`` flags of ``n`` rows that cycle through ``patterns``."""
    mask = torch.tensor([patterns[i % len(patterns)] for i in range(n)], dtype=torch.bool)
    return {m: mask[:, i] for i, m in enumerate(MODALITIES)}


def partially_paired_batch(
    n: int = 24, dim: int = 8, seed: int = 0, patterns: Sequence[tuple[bool, ...]] = PAIR_GROUPS
) -> dict:
    """Random ``dim``-wide embeddings of every modality, rows cycling through ``patterns``
    (pair groups by default); an absent modality's entries are zero."""
    g = torch.Generator().manual_seed(seed)
    present = presence(n, patterns)
    batch: dict = {m: torch.randn(n, dim, generator=g) * present[m][:, None] for m in MODALITIES}
    batch["present"] = present
    return batch


def fit(model: pl.LightningModule, batches: list[dict]) -> pl.Trainer:
    """Train ``model`` with Lightning on the CPU, one optimiser step per batch, quietly."""
    import pytorch_lightning as pl

    trainer = pl.Trainer(
        max_steps=len(batches),
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, DataLoader(batches, batch_size=None))
    return trainer

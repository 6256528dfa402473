"""A small synthetic embeddings folder with a known relation between the modalities.

Each item has a latent ``u ~ N(0, I_8)``; modality ``m`` sees it through a fixed random
linear map, ``z_m = u W_m + 0.1 e`` with ``W_m ~ N(0, 1/8)`` of shape ``[8, D_m]`` and
``e ~ N(0, I)``, for ``D = {text: 12, image: 16, audio: 10}``, so every modality predicts
every other linearly up to the noise. Training items cycle through ten pairings,
text+image x3, text+audio x3, image+audio x3, then all three (120 items: 36 of each pair,
12 triplets, so each modality is missing from 36); the 30 test items hold all three. One label
column, ``sign``, is ``"pos"`` where ``u_0 > 0`` and ``"neg"`` elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.feature_split import FeatureSplit
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.data.embeddings.folder import write_embeddings_folder

LATENT_DIM = 8
WIDTHS: dict[Modality, int] = {"text": 12, "image": 16, "audio": 10}
NOISE = 0.1
N_TRAIN, N_TEST = 120, 30
SIGN_VALUES = ("neg", "pos")
"""The ``sign`` column's values: label 0 is ``neg``, 1 is ``pos`` (sorted, as read back)."""

TRAIN_PATTERNS: tuple[tuple[bool, bool, bool], ...] = (
    *[(True, True, False)] * 3, *[(True, False, True)] * 3, *[(False, True, True)] * 3,
    (True, True, True),
)
"""Presence in :data:`MODALITIES` order that training item ``i`` takes from entry ``i % 10``."""


def write_small_example(folder: Path) -> dict[str, Any]:
    """Write the example into ``folder`` (absent or empty); return the settings that load
    it: ``{"path": str(folder)}``. The same files on every call (seeded)."""
    rng = np.random.default_rng(0)
    maps = {m: rng.normal(0, LATENT_DIM ** -0.5, (LATENT_DIM, WIDTHS[m])) for m in MODALITIES}
    present = {
        "train": np.array([TRAIN_PATTERNS[i % len(TRAIN_PATTERNS)] for i in range(N_TRAIN)]),
        "test": np.ones((N_TEST, len(MODALITIES)), dtype=bool),
    }
    splits = {}
    for split, flags in present.items():
        u = rng.normal(size=(len(flags), LATENT_DIM))
        embeddings = {m: (u @ maps[m] + NOISE * rng.normal(size=(len(u), WIDTHS[m])))
                      .astype(np.float32) * flags[:, [j]]
                      for j, m in enumerate(MODALITIES)}
        splits[split] = FeatureSplit(embeddings, flags, (u[:, [0]] > 0).astype(np.int64),
                                     ("sign",), (len(SIGN_VALUES),))
    write_embeddings_folder(folder, splits, label_values={"sign": list(SIGN_VALUES)})
    return {"path": str(folder)}

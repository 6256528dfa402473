"""Image backbone: a convolutional autoencoder on RGB pixels in [0, 1].

Encoder: three stride-2 4x4 convolutions (H x W -> H/8 x W/8), each followed by
GroupNorm and SiLU, then a linear map to ``D``. Decoder: the mirror image (linear, three
stride-2 transposed convolutions) ending in a sigmoid, trained with mean squared error on
pixels. GroupNorm roughly halves the steps needed for a given reconstruction error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from benchmark.backbones.base import Backbone
from benchmark.core.media_split import MediaSplit

CHANNELS = (16, 32, 64)
GROUPS = 8


class ImageBackbone(Backbone):
    """``uint8 [B, H, W, 3]`` images <-> ``[B, D]`` embeddings; ``H`` and ``W`` divisible by 8."""

    modality = "image"

    def __init__(self, dim: int, height: int, width: int) -> None:
        super().__init__(dim)
        if height % 8 or width % 8:
            raise ValueError(f"image sides must be multiples of 8, got {height}x{width}")
        self.height, self.width = height, width
        c1, c2, c3 = CHANNELS
        grid = (c3, height // 8, width // 8)
        cells = c3 * (height // 8) * (width // 8)
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c1, 4, 2, 1), nn.GroupNorm(GROUPS, c1), nn.SiLU(),
            nn.Conv2d(c1, c2, 4, 2, 1), nn.GroupNorm(GROUPS, c2), nn.SiLU(),
            nn.Conv2d(c2, c3, 4, 2, 1), nn.GroupNorm(GROUPS, c3), nn.SiLU(),
            nn.Flatten(), nn.Linear(cells, dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(dim, cells), nn.SiLU(), nn.Unflatten(1, grid),
            nn.ConvTranspose2d(c3, c2, 4, 2, 1), nn.GroupNorm(GROUPS, c2), nn.SiLU(),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.GroupNorm(GROUPS, c1), nn.SiLU(),
            nn.ConvTranspose2d(c1, 3, 4, 2, 1), nn.Sigmoid(),
        )

    @classmethod
    def from_split(cls, train: MediaSplit, dim: int) -> ImageBackbone:
        _, height, width, _ = train.images.shape
        return cls(dim, height, width)

    @property
    def hparams(self) -> dict[str, Any]:
        return {"dim": self.dim, "height": self.height, "width": self.width}

    def prepare(self, media: np.ndarray) -> Tensor:
        """``uint8 [B, H, W, 3]`` -> ``float32 [B, 3, H, W]`` in [0, 1]."""
        images = torch.from_numpy(np.ascontiguousarray(media, dtype=np.uint8))
        return images.permute(0, 3, 1, 2).float().div(255.0)

    def embed(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def reconstruct(self, u: Tensor) -> Tensor:
        return self.decoder(u)

    def render(self, output: Tensor) -> np.ndarray:
        """``[B, 3, H, W]`` in [0, 1] -> ``uint8 [B, H, W, 3]``."""
        pixels = output.permute(0, 2, 3, 1).mul(255.0).round().clamp(0, 255)
        return pixels.to(torch.uint8).numpy()

"""The backbone interface: one modality's media <-> standardized embeddings.

A backbone is a small autoencoder. Its encoder maps prepared network input ``x`` (pixels,
a normalized log-mel map, token ids) to a raw latent ``u in R^D``; its decoder maps ``u``
back. Methods never see ``u`` itself but the per-dimension standardized

    z = (u - mu) / sigma,     mu, sigma = mean and std of u over the training items,

so every embedding dimension has zero mean and unit variance on the training set.
``decode`` first undoes it: ``u = z * sigma + mu``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.core.hooks import Hooked, abstractmethod
from benchmark.core.media.logmel import LogMelClips
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import Modality
from benchmark.core.stage_clock import timed

Media = list[str] | np.ndarray | LogMelClips
"""Captions, ``uint8 [B, H, W, 3]`` images, or ``float32 [B, S]`` waveforms (decoded audio
is ``LogMelClips``, whose ``np.asarray`` is its waveforms)."""


class Backbone(nn.Module, Hooked):
    """Media -> standardized ``float32 [B, D]`` embeddings (``encode``) and back (``decode``).

    Subclasses set ``modality``, build their networks in ``__init__`` from the keyword
    arguments they report in ``hparams`` (so a saved backbone can be rebuilt), and define
    the hooks ``from_split``, ``prepare``, ``embed``, ``reconstruct`` and ``render``.
    """

    hooks_doc = "benchmark/backbones/base.py"

    modality: ClassVar[Modality]
    batch_size: ClassVar[int] = 512
    """Items per forward pass inside ``encode`` and ``decode``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.register_buffer("latent_mean", torch.zeros(dim))
        self.register_buffer("latent_std", torch.ones(dim))

    @classmethod
    @abstractmethod
    def from_split(cls, train: MediaSplit, dim: int) -> Backbone:
        """An untrained backbone shaped (and input-normalized) for ``train``'s media."""

    @property
    def hparams(self) -> dict[str, Any]:
        """The constructor's keyword arguments."""
        return {"dim": self.dim}

    # --- hooks: media <-> network tensors -------------------------------------------------

    @abstractmethod
    def prepare(self, media: Media) -> Tensor:
        """Media -> network input ``x`` (the autoencoder's reconstruction target)."""

    @abstractmethod
    def embed(self, x: Tensor) -> Tensor:
        """Network input ``[B, ...]`` -> raw latent ``u`` ``[B, D]``."""

    @abstractmethod
    def reconstruct(self, u: Tensor) -> Tensor:
        """Raw latent ``[B, D]`` -> network output in the space of ``x``."""

    @abstractmethod
    def render(self, output: Tensor) -> Media:
        """Network output (all items at once) -> media."""

    def reconstruction_loss(self, x: Tensor, u: Tensor) -> Tensor:
        """Training loss for rebuilding ``x`` from latent ``u``; mean squared error by default."""
        return F.mse_loss(self.reconstruct(u), x)

    # --- public API -----------------------------------------------------------------------

    @torch.no_grad()
    def fit_standardization(self, x: Tensor) -> None:
        """Set ``mu, sigma`` from the raw latents of the training inputs ``x``."""
        self.eval()
        u = torch.cat([self.embed(chunk) for chunk in x.split(self.batch_size)])
        self.latent_mean.copy_(u.mean(0))
        self.latent_std.copy_(u.std(0).clamp_min(1e-6))

    @torch.no_grad()
    def encode(self, media: Media) -> Tensor:
        """Media (``B`` items) -> standardized embeddings ``float32 [B, D]``."""
        self.eval()
        x = self.prepare(media)
        u = torch.cat([self.embed(chunk) for chunk in x.split(self.batch_size)])
        return (u - self.latent_mean) / self.latent_std

    @torch.no_grad()
    def decode(self, z: Tensor) -> Media:
        """Standardized embeddings ``[B, D]`` -> media (``B`` items)."""
        self.eval()
        with timed(f"decode/{self.modality}"):
            u = z.float() * self.latent_std + self.latent_mean
            output = torch.cat([self.reconstruct(chunk) for chunk in u.split(self.batch_size)])
            return self.render(output)

    def extra_repr(self) -> str:
        return f"modality={self.modality!r}, dim={self.dim}"

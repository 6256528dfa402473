"""Audio backbone: an MLP autoencoder on normalized log-mel spectrograms.

Input: ``x = (L - m) / s`` with ``L`` the ``[n_mels, frames]`` log-mel map of a waveform
(``benchmark.core.media.logmel``) and ``m, s`` one global mean and std of the training log-mels.
Encoder: flatten -> Linear -> SiLU -> Linear(D). Decoder: Linear -> SiLU -> Linear ->
``[n_mels, frames]``, trained with mean squared error. Decoding gives ``L = x * s + m`` as
``LogMelClips``, the log-mel maps the judges read; their waveforms come from Griffin-Lim
(``LogMel.invert``) at the original length, only when something asks for them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from benchmark.backbones.base import Backbone
from benchmark.core.media.logmel import LogMel, LogMelClips, LogMelConfig
from benchmark.core.media_split import MediaSplit

HIDDEN = 256
CHUNK = 1024
"""Waveforms per STFT call (bounds the memory of the complex spectrogram)."""


class AudioBackbone(Backbone):
    """``float32 [B, S]`` waveforms <-> ``[B, D]`` embeddings."""

    modality = "audio"

    def __init__(self, dim: int, num_samples: int, sample_rate: int) -> None:
        super().__init__(dim)
        self.num_samples, self.sample_rate = num_samples, sample_rate
        self.log_mel = LogMel(LogMelConfig(sample_rate=sample_rate))
        self.map_shape = (self.log_mel.config.n_mels, self.log_mel.frames(num_samples))
        cells = self.map_shape[0] * self.map_shape[1]
        self.register_buffer("log_mel_mean", torch.tensor(0.0))
        self.register_buffer("log_mel_std", torch.tensor(1.0))
        self.encoder = nn.Sequential(
            nn.Flatten(), nn.Linear(cells, HIDDEN), nn.SiLU(), nn.Linear(HIDDEN, dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(dim, HIDDEN), nn.SiLU(), nn.Linear(HIDDEN, cells),
            nn.Unflatten(1, self.map_shape),
        )

    @classmethod
    def from_split(cls, train: MediaSplit, dim: int) -> AudioBackbone:
        backbone = cls(dim, num_samples=train.audio.shape[1], sample_rate=train.sample_rate)
        log_mels = backbone.log_mels(train.audio)
        backbone.log_mel_mean.fill_(log_mels.mean())
        backbone.log_mel_std.fill_(log_mels.std())
        return backbone

    @property
    def hparams(self) -> dict[str, Any]:
        return {"dim": self.dim, "num_samples": self.num_samples, "sample_rate": self.sample_rate}

    def log_mels(self, waveforms: np.ndarray) -> Tensor:
        """``[B, S]`` waveforms -> ``[B, n_mels, frames]`` log-mel maps (not normalized)."""
        if len(waveforms) == 0:
            return torch.zeros(0, *self.map_shape)
        chunks = range(0, len(waveforms), CHUNK)
        return torch.cat([self.log_mel(waveforms[i : i + CHUNK]) for i in chunks])

    def prepare(self, media: np.ndarray) -> Tensor:
        return (self.log_mels(media) - self.log_mel_mean) / self.log_mel_std

    def embed(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def reconstruct(self, u: Tensor) -> Tensor:
        return self.decoder(u)

    def render(self, output: Tensor) -> LogMelClips:
        """Normalized log-mel ``[B, n_mels, frames]`` -> clips of ``S`` samples, held as
        their log-mel maps (``np.asarray`` gives ``float32 [B, S]`` waveforms in [-1, 1])."""
        log_mel = output * self.log_mel_std + self.log_mel_mean
        return LogMelClips(log_mel, self.num_samples, self.log_mel)

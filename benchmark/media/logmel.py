"""Log-mel spectrograms and their waveform inverse (Griffin-Lim).

Forward:  S = |STFT(x)|^2 (Hann window, centred, zero padding),
          M = F · S with F the Slaney mel filterbank (librosa),
          L = ln(M + floor).
Inverse:  M = exp(L) - floor, then librosa's ``mel_to_audio`` (non-negative least squares
          back to a linear spectrogram, then Griffin-Lim phase recovery). The forward uses
          the same STFT settings as librosa so the inverse is consistent with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class LogMelConfig:
    sample_rate: int = 8_000
    n_fft: int = 256
    hop_length: int = 64
    n_mels: int = 48
    floor: float = 1e-5
    griffin_lim_iters: int = 32


class LogMel:
    """Waveforms ``[B, S]`` <-> log-mel spectrograms ``[B, n_mels, frames]``."""

    def __init__(self, config: LogMelConfig = LogMelConfig()) -> None:
        import librosa  # lazy: slow import

        self.config = config
        filters = librosa.filters.mel(
            sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels
        )
        self._filters = torch.from_numpy(filters).float()
        self._window = torch.hann_window(config.n_fft)

    def frames(self, num_samples: int) -> int:
        return 1 + num_samples // self.config.hop_length

    def __call__(self, waveforms: torch.Tensor | np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(waveforms, dtype=np.float32))
        c = self.config
        spec = torch.stft(
            x, n_fft=c.n_fft, hop_length=c.hop_length, window=self._window,
            center=True, pad_mode="constant", return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        return torch.log(self._filters @ power + c.floor)

    def invert(self, log_mel: torch.Tensor | np.ndarray, num_samples: int) -> np.ndarray:
        """Log-mel ``[B, n_mels, frames]`` -> waveforms ``float32 [B, num_samples]`` in [-1, 1]."""
        import librosa

        c = self.config
        mel = np.exp(np.asarray(log_mel, dtype=np.float32)) - c.floor
        audio = librosa.feature.inverse.mel_to_audio(
            np.clip(mel, 0.0, None), sr=c.sample_rate, n_fft=c.n_fft, hop_length=c.hop_length,
            window="hann", center=True, pad_mode="constant", power=2.0,
            n_iter=c.griffin_lim_iters, length=num_samples,
        )
        return np.clip(audio, -1.0, 1.0).astype(np.float32)

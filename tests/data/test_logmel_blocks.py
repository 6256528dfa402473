"""The log-mel inverse works in cache-sized blocks: its output must be that of solving the
whole batch at once (benchmark/core/media/logmel.py): bit for bit for Griffin-Lim, and to
float32 rounding for the least squares, whose matrix products some BLAS kernels (OpenBLAS
on AMD Zen) round differently for a narrow block than for a wide one."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from benchmark.core.media import logmel
from benchmark.core.media.logmel import LogMel


@pytest.fixture(scope="module")
def log_mel_batch() -> tuple[LogMel, np.ndarray]:
    """Log-mel maps of 37 noisy tones (not a multiple of any block size)."""
    rng = np.random.default_rng(0)
    t = np.arange(2_000) / 8_000
    tones = np.sin(2 * np.pi * 440 * t * rng.uniform(0.5, 2.0, (37, 1)))
    waves = (tones * rng.uniform(0.1, 0.9, (37, 1)) + 0.01 * rng.normal(size=(37, 2_000)))
    log_mel = LogMel()
    return log_mel, log_mel(waves.astype(np.float32)).numpy()


def _mel(log_mel: LogMel, log_mels: np.ndarray) -> np.ndarray:
    return np.clip(np.exp(log_mels) - log_mel.config.floor, 0.0, None)


def _whole_batch_power(log_mel: LogMel, mel: np.ndarray) -> np.ndarray:
    """The projected gradient descent of power_spectrogram on all frames at once."""
    n_mels, frames = mel.shape[-2:]
    columns = np.moveaxis(mel, -2, 0).reshape(n_mels, -1)
    target = log_mel._filters_t @ columns
    power = np.clip(log_mel._pinv @ columns, 0.0, None)
    for _ in range(log_mel.config.nnls_iters):
        power = np.clip(power - log_mel._step * (log_mel._gram @ power - target), 0.0, None)
    return np.moveaxis(power.reshape(-1, len(mel), frames), 0, -2)


def test_power_spectrogram_blocks_equal_one_solve(log_mel_batch, monkeypatch):
    log_mel, log_mels = log_mel_batch
    mel = _mel(log_mel, log_mels)
    monkeypatch.setattr(logmel, "NNLS_COLUMNS", 256)  # 1,184 frames: 4 blocks of 296
    whole = _whole_batch_power(log_mel, mel)
    # measured on Zen: at most 1.6e-6 of the largest power; a wrong block is off by O(1)
    np.testing.assert_allclose(log_mel.power_spectrogram(mel), whole, rtol=0,
                               atol=1e-5 * np.abs(whole).max())


def test_griffin_lim_blocks_equal_one_call(log_mel_batch, monkeypatch):
    log_mel, log_mels = log_mel_batch
    monkeypatch.setattr(logmel, "GRIFFIN_LIM_CLIPS", 5)  # 7 blocks, a ragged last one
    c = log_mel.config
    whole = librosa.griffinlim(
        np.sqrt(log_mel.power_spectrogram(_mel(log_mel, log_mels))), n_iter=c.griffin_lim_iters,
        hop_length=c.hop_length, window="hann", center=True, pad_mode="constant",
        length=2_000, random_state=np.random.default_rng(c.griffin_lim_seed),
    )
    blocks = log_mel.invert(log_mels, 2_000)
    assert np.array_equal(blocks, np.clip(whole, -1.0, 1.0).astype(np.float32))


def test_invert_of_no_clips_is_empty():
    assert LogMel().invert(np.zeros((0, 48, 32), dtype=np.float32), 2_000).shape == (0, 2_000)

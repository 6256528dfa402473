"""Decoded audio is held as log-mel maps and read as such by the judges' transform; its
waveforms come from Griffin-Lim only when asked for (benchmark/core/media/logmel.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.core.media.logmel import LogMel, LogMelClips, LogMelConfig

SAMPLES = 2_000


@pytest.fixture(scope="module")
def maps() -> torch.Tensor:
    waveforms = np.random.default_rng(0).uniform(-0.5, 0.5, (6, SAMPLES)).astype(np.float32)
    maps = LogMel()(waveforms)
    maps[0, 0, 0] = -40.0  # below ln(floor): no mel power >= 0 has this log-mel
    return maps


def test_the_same_transform_reads_the_maps_without_griffin_lim(
    maps: torch.Tensor, monkeypatch: pytest.MonkeyPatch
) -> None:
    transform = LogMel()
    clips = LogMelClips(maps, SAMPLES, transform)
    monkeypatch.setattr(LogMel, "invert", lambda *args: pytest.fail("Griffin-Lim ran"))
    read = LogMel()(clips)
    assert torch.equal(read, maps.clamp_min(float(np.log(transform.config.floor))))
    assert read[0, 0, 0] == pytest.approx(np.log(1e-5))
    assert torch.equal(LogMel()(clips[np.array([4, 1])]), read[[4, 1]])
    assert torch.equal(LogMel()(clips[2:5]), read[2:5])


def test_waveforms_are_griffin_lim_of_the_projected_maps(maps: torch.Tensor) -> None:
    transform = LogMel()
    clips = LogMelClips(maps, SAMPLES, transform)
    waveforms = np.asarray(clips)
    assert clips.shape == waveforms.shape == (6, SAMPLES) and waveforms.dtype == clips.dtype
    expected = transform.invert(clips.log_mel.numpy(), SAMPLES)
    np.testing.assert_array_equal(waveforms, expected)
    assert np.asarray(clips) is waveforms  # made once


def test_another_transform_reads_the_waveforms(maps: torch.Tensor) -> None:
    clips = LogMelClips(maps, SAMPLES, LogMel())
    other = LogMel(LogMelConfig(n_mels=32))
    assert torch.equal(other(clips), other(np.asarray(clips)))
    assert other(clips).shape[1] == 32

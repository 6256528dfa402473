"""One audio file of a media folder -> a mono ``float32 [num_samples]`` clip in ``[-1, 1]``.

1. :func:`read_audio` decodes the file with soundfile (any format libsndfile reads: WAV,
   FLAC, OGG, ...). 16-bit PCM is read as integers and mapped to ``x = pcm / 32767``, the
   convention of the scenes cache (:func:`benchmark.data.scenes.generation.from_pcm16`), so
   a clip written as ``round(x * 32767)`` reads back bit for bit; every other subtype is read
   as float32 by soundfile (integer PCM of ``b`` bits as ``pcm / 2^(b-1)``, float as is).
   Channels are averaged into one: ``mono[t] = mean_c x[t, c]``.
2. :func:`conform_audio` resamples to the target rate with
   :func:`scipy.signal.resample_poly` (a polyphase FIR with a Kaiser-windowed low-pass, so
   downsampling is antialiased) at ``up / down = target / rate`` reduced by their gcd, then
   trims or zero-pads the end to ``num_samples`` and clips to ``[-1, 1]``. A clip already at
   the target rate and length passes through unchanged.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import soundfile

PCM16_FULL_SCALE = np.float32(32767.0)
"""16-bit PCM ``pcm`` stands for ``pcm / PCM16_FULL_SCALE`` (and ``x`` is written as
``round(x * PCM16_FULL_SCALE)``)."""


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """``(mono float32 [n], sample rate)`` of the file at ``path`` (``n`` may be 0).

    Raises whatever soundfile raises for a file it cannot decode.
    """
    with soundfile.SoundFile(path) as sound:
        if sound.subtype == "PCM_16":
            pcm = sound.read(dtype="int16", always_2d=True)
            wave = pcm.astype(np.float32) / PCM16_FULL_SCALE
        else:
            wave = sound.read(dtype="float32", always_2d=True)
        rate = sound.samplerate
    return wave.mean(axis=1, dtype=np.float32), int(rate)


def conform_audio(mono: np.ndarray, rate: int, sample_rate: int, num_samples: int
                  ) -> np.ndarray:
    """``mono`` at ``rate`` Hz -> ``float32 [num_samples]`` at ``sample_rate`` Hz, clipped to
    ``[-1, 1]`` (see the module docstring)."""
    if rate != sample_rate:
        from scipy.signal import resample_poly  # imported here: ~1 s, only when resampling

        common = gcd(rate, sample_rate)
        mono = resample_poly(mono, sample_rate // common, rate // common)
    clip = np.zeros(num_samples, dtype=np.float32)
    kept = min(num_samples, len(mono))
    clip[:kept] = mono[:kept]
    return np.clip(clip, -1.0, 1.0, out=clip)

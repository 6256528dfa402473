"""Generating a split of ``scenes``: layout, attributes, then each modality's rendering.

The training split holds pairs in three equal groups (:data:`PAIR_GROUPS`), optionally
with a fraction of full triplets, in shuffled order; only present modalities are rendered
and absent ones are zeros (``""`` for text). The test split holds full triplets. Audio
lies on the 16-bit PCM grid, so an int16 copy (:func:`to_pcm16`) is lossless.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES
from benchmark.data.dataset import SPLITS
from benchmark.data.scenes.audio import render_audio
from benchmark.data.scenes.caption import render_captions
from benchmark.data.scenes.config import (
    ATTRIBUTE_NAMES,
    ATTRIBUTE_SIZES,
    ATTRIBUTE_VALUES,
    PAIR_GROUPS,
    ScenesConfig,
)
from benchmark.data.scenes.image import render_images

_PCM16 = 32767.0


def _presence(config: ScenesConfig, split: str, rng: np.random.Generator) -> np.ndarray:
    """``bool [N, 3]`` modality presence: shuffled pair groups (+ triplets) or all triplets.

    Training pairs are ``n_train - round(triplet_fraction · n_train)`` items split over
    the groups as evenly as possible (earlier groups take the remainder).
    """
    if split == "test":
        return np.ones((config.n_test, len(MODALITIES)), dtype=bool)
    n_triplets = round(config.triplet_fraction * config.n_train)
    n_pairs = config.n_train - n_triplets
    blocks = [np.ones((n_triplets, len(MODALITIES)), dtype=bool)]
    for g, group in enumerate(PAIR_GROUPS):
        row = np.array([m in group for m in MODALITIES])
        count = n_pairs // len(PAIR_GROUPS) + (g < n_pairs % len(PAIR_GROUPS))
        blocks.append(np.tile(row, (count, 1)))
    present = np.concatenate(blocks)
    return present[rng.permutation(len(present))]


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] -> ``int16`` PCM."""
    return np.round(audio * _PCM16).astype(np.int16)


def from_pcm16(pcm: np.ndarray) -> np.ndarray:
    """``int16`` PCM -> ``float32`` in [-1, 1]."""
    return pcm.astype(np.float32) / np.float32(_PCM16)


def generate_split(config: ScenesConfig, split: str) -> MediaSplit:
    """Generate one split; the same config and split always give the same bytes.

    Independent generator streams (children of ``SeedSequence([seed, split index])``)
    drive the layout and attributes, and each modality's nuisance, so rendering one
    modality never shifts the random draws of another.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if not 0.0 <= config.triplet_fraction <= 1.0:
        raise ValueError(f"triplet_fraction must be in [0, 1], got {config.triplet_fraction}")
    layout, text_rng, image_rng, audio_rng = (
        np.random.default_rng(s)
        for s in np.random.SeedSequence([config.seed, SPLITS.index(split)]).spawn(4)
    )
    present = _presence(config, split, layout)
    n = len(present)
    attributes = np.stack(
        [layout.integers(len(v), size=n) for v in ATTRIBUTE_VALUES.values()], axis=1
    ).astype(np.int64)
    has_text, has_image, has_audio = present.T

    captions = [""] * n
    rendered = render_captions(attributes[has_text], ATTRIBUTE_VALUES, text_rng)
    for i, caption in zip(np.flatnonzero(has_text), rendered, strict=True):
        captions[i] = caption

    side = config.image_size
    images = np.zeros((n, side, side, 3), dtype=np.uint8)
    images[has_image] = render_images(attributes[has_image], ATTRIBUTE_VALUES, side, image_rng)

    clips = render_audio(
        attributes[has_audio], ATTRIBUTE_VALUES, config.sample_rate, config.duration_s, audio_rng
    )
    audio = np.zeros((n, clips.shape[1]), dtype=np.float32)
    audio[has_audio] = from_pcm16(to_pcm16(clips))

    return MediaSplit(
        attributes=attributes,
        present=present,
        captions=captions,
        images=images,
        audio=audio,
        attribute_names=ATTRIBUTE_NAMES,
        attribute_sizes=ATTRIBUTE_SIZES,
        sample_rate=config.sample_rate,
    )

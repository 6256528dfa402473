"""The embedded backbones: shapes, standardization, round-trip quality and caching.

Runs on a small synthetic tri-modal split (coloured squares, template captions, sine
tones) built here, so it tests the backbones alone, independent of the scenes generator.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

import benchmark.backbones as backbones_module
from benchmark.backbones import (
    Backbone,
    BackboneConfig,
    backbone_key,
    backbone_path,
    load_backbones,
)
from benchmark.core.media.tokenizer import split_words
from benchmark.core.media_split import MediaSplit

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (40, 60, 230)}
PITCHES = {"red": 440.0, "green": 660.0, "blue": 990.0}
SIDES = ("left", "right")
SIZES = {"small": 3, "big": 6}
RATE, SAMPLES, SIDE = 8_000, 1_600, 16
CONFIG = BackboneConfig(
    dim=16, text_steps=300, image_steps=300, audio_steps=300, batch_size=64, lr=3e-3
)
KEY = "synthetic-test"


def synthetic_split(n: int, seed: int, missing: float = 0.0) -> MediaSplit:
    """``n`` scenes: a coloured square on one side, its caption, a tone at its pitch and onset."""
    rng = np.random.default_rng(seed)
    colour = rng.integers(len(COLOURS), size=n)
    side = rng.integers(len(SIDES), size=n)
    size = rng.integers(len(SIZES), size=n)
    names, sizes = list(COLOURS), list(SIZES)
    images = rng.integers(0, 30, size=(n, SIDE, SIDE, 3)).astype(np.uint8)
    audio = np.zeros((n, SAMPLES), dtype=np.float32)
    t = np.arange(SAMPLES) / RATE
    captions = []
    for i in range(n):
        half, radius = SIDE // 4 + side[i] * SIDE // 2, SIZES[sizes[size[i]]]
        rows = slice(SIDE // 2 - radius, SIDE // 2 + radius)
        images[i, rows, max(half - radius, 0) : half + radius] = COLOURS[names[colour[i]]]
        gain, onset = 0.3 + 0.4 * size[i], side[i] * SAMPLES // 2 / RATE
        tone = gain * np.sin(2 * np.pi * PITCHES[names[colour[i]]] * t + rng.uniform(0, 6))
        audio[i] = tone * (t >= onset) + rng.normal(0.0, 0.01, SAMPLES)
        captions.append(f"a {sizes[size[i]]} {names[colour[i]]} square on the {SIDES[side[i]]}")
    present = rng.random((n, 3)) >= missing
    return MediaSplit(
        attributes=np.stack([colour, side, size], 1),
        present=present,
        captions=captions,
        images=images,
        audio=audio,
        attribute_names=("colour", "side", "size"),
        attribute_sizes=(3, 2, 2),
        sample_rate=RATE,
    )


@pytest.fixture(scope="module")
def train() -> MediaSplit:
    return synthetic_split(1_200, seed=0, missing=0.2)


@pytest.fixture(scope="module")
def test_split() -> MediaSplit:
    return synthetic_split(64, seed=1)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def trained(train: MediaSplit, root: Path) -> dict[str, Backbone]:
    return load_backbones(KEY, train, CONFIG, root=root, progress=False)


def test_one_frozen_backbone_per_modality(trained: dict[str, Backbone]) -> None:
    assert list(trained) == ["text", "image", "audio"]
    for modality, backbone in trained.items():
        assert backbone.modality == modality and backbone.dim == CONFIG.dim
        assert not backbone.training
        assert not any(p.requires_grad for p in backbone.parameters())


@pytest.mark.parametrize("modality", ["text", "image", "audio"])
def test_train_embeddings_are_standardized(
    trained: dict[str, Backbone], train: MediaSplit, modality: str
) -> None:
    items = train.subset(train.has(modality))
    z = trained[modality].encode(items.media(modality))
    assert z.shape == (len(items), CONFIG.dim) and z.dtype == torch.float32
    torch.testing.assert_close(z.mean(0), torch.zeros(CONFIG.dim), atol=1e-3, rtol=0)
    torch.testing.assert_close(z.std(0), torch.ones(CONFIG.dim), atol=1e-3, rtol=0)


def test_image_round_trip_beats_the_mean_image(
    trained: dict[str, Backbone], train: MediaSplit, test_split: MediaSplit
) -> None:
    decoded = trained["image"].decode(trained["image"].encode(test_split.images))
    assert decoded.dtype == np.uint8 and decoded.shape == test_split.images.shape
    truth = test_split.images / 255.0
    error = np.mean((decoded / 255.0 - truth) ** 2)
    mean_image = train.images[train.has("image")].mean(0) / 255.0
    assert error < 0.3 * np.mean((mean_image - truth) ** 2)


def token_accuracy(references: list[str], hypotheses: list[str]) -> float:
    """Position-wise word matches over the longer of each pair."""
    hits = total = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref, hyp = split_words(reference), split_words(hypothesis)
        hits += sum(a == b for a, b in zip(ref, hyp, strict=False))
        total += max(len(ref), len(hyp))
    return hits / total


def test_text_round_trip_recovers_the_words(
    trained: dict[str, Backbone], test_split: MediaSplit
) -> None:
    z = trained["text"].encode(test_split.captions)
    assert token_accuracy(test_split.captions, trained["text"].decode(z)) > 0.8
    noisy = z + 0.1 * torch.randn(z.shape, generator=torch.Generator().manual_seed(0))
    assert token_accuracy(test_split.captions, trained["text"].decode(noisy)) > 0.7


def test_audio_round_trip_beats_the_mean_log_mel(
    trained: dict[str, Backbone], train: MediaSplit, test_split: MediaSplit
) -> None:
    audio = trained["audio"]
    clips = test_split.audio[:8]
    z = audio.encode(clips)
    decoded = audio.decode(z)
    assert decoded.dtype == np.float32 and decoded.shape == clips.shape
    assert np.abs(decoded).max() <= 1.0
    truth = audio.log_mels(clips)
    baseline = (audio.log_mels(train.audio[train.has("audio")]).mean(0) - truth).square().mean()
    # The decoder's own log-mel output, before Griffin-Lim adds its phase-recovery error.
    u = z * audio.latent_std + audio.latent_mean
    decoder_log_mel = audio.reconstruct(u) * audio.log_mel_std + audio.log_mel_mean
    assert (decoder_log_mel - truth).square().mean() < 0.25 * baseline
    assert (audio.log_mels(np.asarray(decoded)) - truth).square().mean() < 0.8 * baseline


def test_audio_decoding_is_a_function_of_its_input(
    trained: dict[str, Backbone], test_split: MediaSplit
) -> None:
    # Griffin-Lim's initial phases are seeded: the same embeddings decode to the same clips.
    z = trained["audio"].encode(test_split.audio[:4])
    np.testing.assert_array_equal(trained["audio"].decode(z), trained["audio"].decode(z))


def test_second_load_reads_the_cache(
    trained: dict[str, Backbone],
    train: MediaSplit,
    test_split: MediaSplit,
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached backbone was trained again")

    monkeypatch.setattr(backbones_module, "train_backbone", no_training)
    loaded = load_backbones(KEY, train, CONFIG, root=root, progress=False)
    for modality, backbone in trained.items():
        assert backbone_path(KEY, CONFIG, modality, root).is_file()
        media = test_split.media(modality)
        torch.testing.assert_close(loaded[modality].encode(media), backbone.encode(media))
    assert loaded["text"].decode(loaded["text"].encode(test_split.captions[:4])) == (
        trained["text"].decode(trained["text"].encode(test_split.captions[:4]))
    )


def test_training_is_deterministic_given_the_seed(train: MediaSplit, tmp_path: Path) -> None:
    config = dataclasses.replace(CONFIG, image_steps=5, text_steps=5, audio_steps=5)
    items = train.subset(np.arange(200))
    first = load_backbones(KEY, items, config, root=tmp_path / "a", progress=False)
    second = load_backbones(KEY, items, config, root=tmp_path / "b", progress=False)
    for modality in first:
        for name, tensor in first[modality].state_dict().items():
            torch.testing.assert_close(second[modality].state_dict()[name], tensor, msg=name)


def test_modalities_absent_from_the_split_get_no_backbone(
    train: MediaSplit, tmp_path: Path
) -> None:
    config = dataclasses.replace(CONFIG, image_steps=2, text_steps=2, audio_steps=2)
    items = train.subset(np.arange(50))
    items.present[:, 1] = False  # no images
    assert list(load_backbones(KEY, items, config, root=tmp_path, progress=False)) == [
        "text",
        "audio",
    ]


def test_changing_the_config_changes_the_key() -> None:
    base = backbone_key(KEY, CONFIG)
    assert backbone_key(KEY, CONFIG) == base
    for change in ({"dim": 32}, {"seed": 1}, {"image_steps": 301}, {"version": "ae-v0"}):
        assert backbone_key(KEY, dataclasses.replace(CONFIG, **change)) != base
    assert backbone_key("another-dataset", CONFIG) != base
    assert backbone_path(KEY, CONFIG, "text") != backbone_path(KEY, CONFIG, "image")

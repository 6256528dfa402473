"""The procedurally generated ``scenes`` dataset: determinism, structure, media, cache."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile
from PIL import Image

from benchmark.core.errors import UserError
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES
from benchmark.data.scenes import (
    ATTRIBUTE_NAMES,
    ATTRIBUTE_VALUES,
    PAIR_GROUPS,
    Scenes,
    ScenesConfig,
    generate_split,
)
from benchmark.data.scenes.audio import COLOUR_PITCH_HZ
from benchmark.data.scenes.caption import SYNONYMS, TEMPLATES
from benchmark.data.scenes.image import COLOUR_RGB
from benchmark.data.scenes.preview import write_preview

SMALL = ScenesConfig(n_train=300, n_test=30)


@pytest.fixture(scope="module")
def train() -> MediaSplit:
    return generate_split(SMALL, "train")


@pytest.fixture(scope="module")
def test_split() -> MediaSplit:
    """A larger test split, so per-attribute statistics have enough items."""
    return generate_split(ScenesConfig(n_train=3, n_test=240), "test")


def _column(split: MediaSplit, name: str) -> np.ndarray:
    return split.attributes[:, ATTRIBUTE_NAMES.index(name)]


def _assert_same(a: MediaSplit, b: MediaSplit) -> None:
    for field in ("attributes", "present", "images", "audio"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert getattr(a, field).dtype == getattr(b, field).dtype
    assert a.captions == b.captions
    assert a.attribute_names == b.attribute_names
    assert a.attribute_sizes == b.attribute_sizes
    assert a.sample_rate == b.sample_rate


def test_public_constants() -> None:
    assert ATTRIBUTE_NAMES == ("shape", "colour", "size", "position")
    assert len(ATTRIBUTE_VALUES["shape"]) >= 5
    assert len(ATTRIBUTE_VALUES["colour"]) >= 5
    assert ATTRIBUTE_VALUES["size"] == ("small", "large")
    assert ATTRIBUTE_VALUES["position"] == ("top left", "top right", "bottom left", "bottom right")
    assert PAIR_GROUPS == (("text", "image"), ("text", "audio"), ("image", "audio"))
    assert SMALL.key() == ScenesConfig(n_train=300, n_test=30).key() != ScenesConfig().key()


def test_generation_is_deterministic(train: MediaSplit) -> None:
    _assert_same(train, generate_split(SMALL, "train"))
    other_seed = generate_split(ScenesConfig(seed=1, n_train=300, n_test=30), "train")
    assert not np.array_equal(train.attributes, other_seed.attributes)
    assert not np.array_equal(train.images, other_seed.images)
    assert not np.array_equal(train.audio, other_seed.audio)


def test_train_and_test_use_different_streams() -> None:
    config = ScenesConfig(n_train=30, n_test=30, triplet_fraction=1.0)
    a, b = generate_split(config, "train"), generate_split(config, "test")
    assert not np.array_equal(a.attributes, b.attributes)


def test_unknown_split_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        generate_split(SMALL, "validation")


def test_training_items_come_in_equal_shuffled_pair_groups(train: MediaSplit) -> None:
    assert len(train) == SMALL.n_train
    assert (train.present.sum(axis=1) == 2).all()
    for group in PAIR_GROUPS:
        row = np.array([m in group for m in MODALITIES])
        assert (train.present == row).all(axis=1).sum() == SMALL.n_train // 3
    # Shuffled: the first third is not a single group.
    assert len(np.unique(train.present[:100], axis=0)) == 3


def test_triplet_fraction_is_honoured() -> None:
    split = generate_split(ScenesConfig(n_train=300, n_test=3, triplet_fraction=0.2), "train")
    assert split.present.all(axis=1).sum() == 60
    for group in PAIR_GROUPS:
        row = np.array([m in group for m in MODALITIES])
        assert (split.present == row).all(axis=1).sum() == 80


def test_test_split_holds_triplets(test_split: MediaSplit) -> None:
    assert len(test_split) == 240
    assert test_split.present.all()
    assert all(test_split.captions)


def test_shapes_dtypes_and_ranges(train: MediaSplit) -> None:
    n, side = SMALL.n_train, SMALL.image_size
    samples = round(SMALL.sample_rate * SMALL.duration_s)
    assert train.attributes.shape == (n, len(ATTRIBUTE_NAMES))
    assert train.attributes.dtype == np.int64
    for j, name in enumerate(ATTRIBUTE_NAMES):
        assert set(np.unique(train.attributes[:, j])) == set(range(len(ATTRIBUTE_VALUES[name])))
    assert train.present.shape == (n, 3) and train.present.dtype == bool
    assert train.images.shape == (n, side, side, 3) and train.images.dtype == np.uint8
    assert train.audio.shape == (n, samples) and train.audio.dtype == np.float32
    assert np.abs(train.audio).max() <= 1.0
    assert train.attribute_names == ATTRIBUTE_NAMES
    assert train.sample_rate == SMALL.sample_rate

    has_text, has_image, has_audio = train.present.T
    assert all(bool(c) == t for c, t in zip(train.captions, has_text, strict=True))
    assert not train.images[~has_image].any()
    assert train.images[has_image].reshape(has_image.sum(), -1).any(axis=1).all()
    assert not train.audio[~has_audio].any()
    assert train.audio[has_audio].any(axis=1).all()


def test_image_colour_size_and_position(test_split: MediaSplit) -> None:
    pixels = test_split.images.astype(np.float64) / 255.0
    # Shape pixels are the saturated ones; the background is a near-grey.
    shape = (pixels.max(axis=-1) - pixels.min(axis=-1)) > 0.35
    palette = np.array([COLOUR_RGB[c] for c in ATTRIBUTE_VALUES["colour"]])
    palette /= palette.sum(axis=1, keepdims=True)
    mean_rgb = (pixels * shape[..., None]).sum(axis=(1, 2)) / shape.sum(axis=(1, 2))[:, None]
    chroma = mean_rgb / mean_rgb.sum(axis=1, keepdims=True)
    nearest = np.linalg.norm(chroma[:, None] - palette[None], axis=-1).argmin(axis=1)
    np.testing.assert_array_equal(nearest, _column(test_split, "colour"))

    area = shape.sum(axis=(1, 2))
    large = _column(test_split, "size") == 1
    assert area[~large].max() < area[large].min()

    side = test_split.images.shape[1]
    ys, xs = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    centre_x = (shape * xs).sum(axis=(1, 2)) / area
    centre_y = (shape * ys).sum(axis=(1, 2)) / area
    quadrant = 2 * (centre_y > side / 2) + (centre_x > side / 2)
    np.testing.assert_array_equal(quadrant, _column(test_split, "position"))


def test_audio_pitch_loudness_duration_onset_and_timbre(test_split: MediaSplit) -> None:
    audio = test_split.audio.astype(np.float64)
    rate = test_split.sample_rate
    spectrum = np.abs(np.fft.rfft(audio, n=4 * audio.shape[1], axis=1))
    freqs = np.fft.rfftfreq(4 * audio.shape[1], 1.0 / rate)
    dominant = freqs[spectrum.argmax(axis=1)]
    pitches = np.array([COLOUR_PITCH_HZ[c] for c in ATTRIBUTE_VALUES["colour"]])
    nearest = np.abs(np.log(dominant[:, None] / pitches[None])).argmin(axis=1)
    np.testing.assert_array_equal(nearest, _column(test_split, "colour"))

    frame = rate // 100  # 10 ms frames
    frames = audio[:, : audio.shape[1] // frame * frame].reshape(len(audio), -1, frame)
    level = np.sqrt((frames**2).mean(axis=2))
    sounding = level > 0.5 * level.max(axis=1, keepdims=True)
    large = _column(test_split, "size") == 1
    rms = np.sqrt((audio**2).mean(axis=1))
    assert rms[~large].max() < rms[large].min()
    duration = sounding.sum(axis=1)
    assert duration[~large].max() < duration[large].min()

    onset = sounding.argmax(axis=1)
    position = _column(test_split, "position")
    for earlier in range(3):
        assert onset[position == earlier].max() < onset[position == earlier + 1].min()

    # Timbre: the circle is a pure tone; every other shape has an overtone of at least 1/3
    # of the fundamental's amplitude.
    overtone = np.zeros(len(audio))
    for k in range(2, 9):
        near = np.abs(freqs[None, :] / (k * dominant[:, None]) - 1.0) < 0.01
        overtone = np.maximum(overtone, np.where(near, spectrum, 0.0).max(axis=1))
    overtone /= spectrum.max(axis=1)
    is_circle = _column(test_split, "shape") == ATTRIBUTE_VALUES["shape"].index("circle")
    assert overtone[is_circle].max() < 0.15 < overtone[~is_circle].min()


def _mentions(caption: str, phrase: str) -> bool:
    """Whole-phrase match; hyphens count as part of a word (``top-left`` is not ``left``)."""
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", caption, re.IGNORECASE) is not None


def test_every_caption_names_each_attribute(train: MediaSplit, test_split: MediaSplit) -> None:
    assert len(TEMPLATES) >= 6
    assert all(len(SYNONYMS[v]) >= 2 for values in ATTRIBUTE_VALUES.values() for v in values)
    for split in (train, test_split):
        for caption, row in zip(split.captions, split.attributes, strict=True):
            if not caption:
                continue
            for name, index in zip(ATTRIBUTE_NAMES, row, strict=True):
                for k, value in enumerate(ATTRIBUTE_VALUES[name]):
                    said = any(_mentions(caption, s) for s in SYNONYMS[value])
                    assert said == (k == index), (caption, name, value)
    assert len(set(test_split.captions)) > 0.8 * len(test_split)


def test_the_dataset_generates_once_then_reads_its_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ANYBENCH_CACHE", str(tmp_path))
    scenes = Scenes(n_train=SMALL.n_train, n_test=SMALL.n_test)
    assert scenes.config == SMALL and scenes.key() == SMALL.key()
    assert (scenes.name, scenes.version) == ("scenes", "scenes-v1")
    folder = tmp_path / "datasets" / f"scenes-{SMALL.key()}"
    generated = scenes.load(progress=False)
    assert np.load(folder / "train" / "audio_pcm16.npy").dtype == np.int16
    assert json.loads((folder / "scenes.json").read_text()) == scenes.settings()
    loaded = scenes.load(progress=False)
    for split in ("train", "test"):
        _assert_same(generated[split], loaded[split])
        _assert_same(loaded[split], generate_split(SMALL, split))


def test_an_unknown_setting_names_the_closest() -> None:
    with pytest.raises(UserError, match="unknown scenes setting 'n_trian': did you mean 'n_train'"):
        Scenes(n_trian=10)


def test_write_preview(test_split: MediaSplit, tmp_path) -> None:
    paths = write_preview(test_split, tmp_path, n_images=8, n_audio=3)
    sheet, *wavs = paths
    assert all(p.exists() for p in paths)
    with Image.open(sheet) as image:
        assert image.format == "PNG" and image.width > 8 * test_split.images.shape[1]
    assert len(wavs) == 3
    for i, wav in enumerate(wavs):
        data, rate = soundfile.read(wav, dtype="float32")
        assert soundfile.info(wav).subtype == "PCM_16"
        assert rate == test_split.sample_rate
        np.testing.assert_allclose(data, test_split.audio[i], atol=2 / 32767)
        colour = ATTRIBUTE_VALUES["colour"][_column(test_split, "colour")[i]]
        assert wav.name.startswith(f"audio_{i:02d}_{colour}_")

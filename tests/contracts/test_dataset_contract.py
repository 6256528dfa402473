"""The contract every registered dataset keeps, checked the same way for each of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmark.core.errors import UserError
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES
from benchmark.data import DATASETS, build_dataset
from benchmark.data.dataset import KINDS, SPLITS, Dataset, Previewable


@pytest.fixture(params=DATASETS.names())
def name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def small(name: str, tmp_path_factory) -> dict[str, Any]:
    """Settings of a small instance (benchmark/data/dataset.py): the factory's
    ``small_settings``, or the settings of the example its ``small_example`` writes."""
    factory = DATASETS.get(name)
    if hasattr(factory, "small_example"):
        return factory.small_example(tmp_path_factory.mktemp(f"{name}-example"))
    return dict(getattr(factory, "small_settings", {}))


@pytest.fixture
def loaded(name: str, small, tmp_path, monkeypatch) -> tuple[Dataset, dict]:
    monkeypatch.setenv("ANYBENCH_CACHE", str(tmp_path))
    dataset = build_dataset(name, small)
    return dataset, dataset.load(progress=False)


def test_it_is_a_dataset_named_as_registered(name: str, loaded) -> None:
    dataset, _ = loaded
    assert isinstance(dataset, Dataset)
    assert dataset.name == name
    assert dataset.kind in KINDS
    assert dataset.version and ":" not in dataset.version
    assert build_dataset(name, dataset.settings()).key() == dataset.key()


def test_both_splits_are_consistent_feature_splits(loaded) -> None:
    dataset, splits = loaded
    if dataset.kind != "embeddings":
        pytest.skip(f"{dataset.name} holds media")
    assert tuple(splits) == SPLITS
    assert splits["train"].dims() == splits["test"].dims() == dataset.embedding_dims()
    for split in splits.values():
        assert isinstance(split, FeatureSplit)
        n = len(split)
        assert n > 0
        assert split.present.shape == (n, len(MODALITIES)) and split.present.dtype == bool
        for modality in MODALITIES:
            x = split.embeddings[modality]
            assert x.dtype == np.float32 and x.shape[0] == n
            assert np.isfinite(x[split.has(modality)]).all()


def test_both_splits_are_consistent_media_splits(loaded) -> None:
    dataset, splits = loaded
    if dataset.kind != "media":
        pytest.skip(f"{dataset.name} holds precomputed embeddings")
    assert tuple(splits) == SPLITS
    for split in splits.values():
        assert isinstance(split, MediaSplit)
        n = len(split)
        assert n > 0
        assert split.present.shape == (n, len(MODALITIES)) and split.present.dtype == bool
        assert len(split.captions) == len(split.images) == len(split.audio) == n
        assert split.images.dtype == np.uint8 and split.images.ndim == 4
        assert split.images.shape[-1] == 3
        assert split.audio.dtype == np.float32 and split.audio.ndim == 2
        assert np.abs(split.audio).max() <= 1.0
        assert split.sample_rate > 0
    train, test = splits["train"], splits["test"]
    assert train.images.shape[1:] == test.images.shape[1:]
    assert train.audio.shape[1:] == test.audio.shape[1:]
    assert train.sample_rate == test.sample_rate


def test_test_items_hold_every_modality(loaded) -> None:
    dataset, splits = loaded
    test = splits["test"]
    assert test.present.all()
    if dataset.kind != "media":
        return
    assert all(test.captions)
    assert test.images.reshape(len(test), -1).any(axis=1).all()
    assert test.audio.any(axis=1).all()


def test_presence_matches_the_media(loaded) -> None:
    dataset, splits = loaded
    if dataset.kind != "media":
        pytest.skip(f"{dataset.name} holds precomputed embeddings")
    for split in splits.values():
        has_text, has_image, has_audio = (split.has(m) for m in ("text", "image", "audio"))
        assert [bool(c) for c in split.captions] == has_text.tolist()
        assert not split.images[~has_image].any()
        assert not split.audio[~has_audio].any()


def test_label_columns_are_consistent(loaded) -> None:
    _, splits = loaded
    train, test = splits["train"], splits["test"]
    assert train.attribute_names == test.attribute_names
    assert train.attribute_sizes == test.attribute_sizes
    for split in splits.values():
        assert split.attributes.dtype == np.int64
        assert split.attributes.shape == (len(split), len(split.attribute_names))
        assert len(split.attribute_sizes) == len(split.attribute_names)
        assert (split.attributes >= -1).all()  # -1: a training item without that label
        assert (split.attributes < np.array(split.attribute_sizes)).all()
    assert (test.attributes >= 0).all()


def test_loading_again_reads_identical_arrays(name: str, small, loaded) -> None:
    dataset, first = loaded
    again = build_dataset(name, small).load(progress=False)
    for split in SPLITS:
        a, b = first[split], again[split]
        if dataset.kind != "media":
            for modality in MODALITIES:
                np.testing.assert_array_equal(a.embeddings[modality], b.embeddings[modality])
            np.testing.assert_array_equal(a.present, b.present)
            continue
        for field in ("attributes", "present", "images", "audio"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
            assert getattr(a, field).dtype == getattr(b, field).dtype
        assert a.captions == b.captions
        assert (a.attribute_names, a.attribute_sizes, a.sample_rate) == (
            b.attribute_names, b.attribute_sizes, b.sample_rate)


def test_the_key_changes_with_a_setting(name: str, small) -> None:
    instance = build_dataset(name, small)
    assert build_dataset(name, small).key() == instance.key()
    if small and not hasattr(DATASETS.get(name), "small_example"):
        # settings that differ from the defaults make another dataset
        assert build_dataset(name, {}).key() != instance.key()


def test_a_preview_writes_the_files_it_names(loaded, tmp_path) -> None:
    dataset, splits = loaded
    if not isinstance(dataset, Previewable):
        pytest.skip(f"{dataset.name} has no preview")
    paths = dataset.write_preview(splits["test"], tmp_path / "preview")
    assert paths and all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_an_unknown_setting_is_a_user_error(name: str, small) -> None:
    with pytest.raises(UserError, match="unknown"):
        build_dataset(name, {**small, "no_such_setting": 1})

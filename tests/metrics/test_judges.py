"""The embedded judges learn the attributes from real media and are cached by config."""

import numpy as np
import pytest
import torch

from benchmark.data.scenes import ScenesConfig, generate_split
from metrics.evaluators.attribute_judges import (
    FEATURE_DIM,
    JudgeConfig,
    load_attribute_judges,
)


@pytest.fixture(scope="module")
def scenes():
    config = ScenesConfig(n_train=1_500, n_test=60)
    return config, generate_split(config, "train"), generate_split(config, "test")


@pytest.fixture(scope="module")
def judges(scenes, tmp_path_factory):
    config, train, _ = scenes
    root = tmp_path_factory.mktemp("cache")
    judges = load_attribute_judges(config.key(), train, JudgeConfig(steps=150), root=root,
                                   progress=False)
    judges.make()
    return root, judges


def test_judges_beat_chance_on_real_test_media(scenes, judges):
    _, _, test = scenes
    chance = np.mean([1 / size for size in test.attribute_sizes])
    for modality, judge in judges[1].items():
        predicted = judge.predict(test.media(modality)).numpy()
        accuracy = (predicted == test.attributes).mean()
        assert accuracy > chance + 0.25, (modality, accuracy)


def test_features_have_the_declared_size(scenes, judges):
    _, _, test = scenes
    for modality, judge in judges[1].items():
        assert judge.features(test.media(modality)).shape == (len(test), FEATURE_DIM)


def test_features_are_scaled_to_unit_mean_square_on_training_media(scenes, judges):
    _, train, _ = scenes
    for modality, judge in judges[1].items():
        media = train.subset(train.has(modality)).media(modality)
        mean_square = judge.features(media).square().mean().item()
        assert mean_square == pytest.approx(1.0, rel=0.1), (modality, mean_square)
        assert judge.feature_scale.item() != 1.0


def test_judges_are_loaded_from_the_cache_unchanged(scenes, judges):
    config, train, test = scenes
    root, first = judges
    again = load_attribute_judges(config.key(), train, JudgeConfig(steps=150), root=root,
                                  progress=False)
    for modality in first:
        media = test.media(modality)
        torch.testing.assert_close(first[modality].features(media), again[modality].features(media))


def test_a_judge_is_trained_and_cached_only_when_first_read(scenes, tmp_path):
    config, train, _ = scenes
    judges = load_attribute_judges(config.key(), train, JudgeConfig(steps=5), root=tmp_path,
                                   progress=False)
    assert list(judges) == ["text", "image", "audio"] and not judges.made
    assert not (tmp_path / "judges").exists()
    image = judges["image"]
    assert judges["image"] is image and judges.made == ["image"]
    assert [path.name.split("-")[0] for path in (tmp_path / "judges").glob("*.pt")] == ["image"]

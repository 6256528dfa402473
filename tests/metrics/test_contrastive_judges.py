"""Contrastive judges: unit-norm deterministic encodings, cache round trip, loss decreases."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import metrics.evaluators.contrastive_judges as contrastive
from benchmark.core.errors import UserError
from benchmark.data.scenes import ScenesConfig, generate_split
from metrics.evaluators.contrastive_judges import (
    PAIRS,
    ContrastiveJudge,
    ContrastiveJudgeConfig,
    load_contrastive_judges,
)

TINY = ContrastiveJudgeConfig(steps=3, batch_size=16, embed_dim=16, text_width=32,
                              text_layers=1, image_width=32, image_layers=1)


@pytest.fixture(scope="module")
def scenes():
    config = ScenesConfig(n_train=150, n_test=24)
    return config.key(), generate_split(config, "train"), generate_split(config, "test")


@pytest.fixture(scope="module")
def cached(scenes, tmp_path_factory):
    key, train, _ = scenes
    root = tmp_path_factory.mktemp("cache")
    judges = load_contrastive_judges(key, train, TINY, root=root, progress=False)
    judges.make()
    return root, judges


def test_encodings_are_unit_norm_and_repeatable(scenes, cached):
    _, _, test = scenes
    for pair, judge in cached[1].items():
        for modality in pair:
            first = judge.encode(modality, test.media(modality), batch_size=10)
            assert first.shape == (len(test), TINY.embed_dim)
            torch.testing.assert_close(first.norm(dim=1), torch.ones(len(test)))
            torch.testing.assert_close(judge.encode(modality, test.media(modality)), first)


def test_training_is_deterministic_for_a_seed(scenes, cached, tmp_path):
    key, train, test = scenes
    again = load_contrastive_judges(key, train, TINY, root=tmp_path, progress=False)
    other_seed = contrastive._train(PAIRS[0], train, replace(TINY, seed=TINY.seed + 1),
                                    progress=False)
    for pair, judge in cached[1].items():
        for modality in pair:
            media = test.media(modality)
            torch.testing.assert_close(again[pair].encode(modality, media),
                                       judge.encode(modality, media))
    text = test.media("text")
    assert not torch.allclose(other_seed.encode("text", text), cached[1][PAIRS[0]].encode(
        "text", text))


def test_judges_load_from_the_cache_unchanged(scenes, cached, monkeypatch):
    key, train, test = scenes
    root, first = cached
    assert len(list((root / "contrastive_judges").glob("*.pt"))) == len(PAIRS)

    def no_training(*args, **kwargs):
        raise AssertionError("the cached judge was retrained")

    monkeypatch.setattr(contrastive, "_train", no_training)
    loaded = load_contrastive_judges(key, train, TINY, root=root, progress=False)
    for pair, judge in first.items():
        for modality in pair:
            media = test.media(modality)
            torch.testing.assert_close(loaded[pair].encode(modality, media),
                                       judge.encode(modality, media), rtol=0, atol=0)
        assert loaded[pair].logit_scale.item() == judge.logit_scale.item()


def test_a_few_steps_reduce_the_clip_loss_on_a_fixed_batch(scenes):
    _, train, _ = scenes
    torch.manual_seed(0)
    items = train.subset(train.has("text") & train.has("audio"))
    judge = ContrastiveJudge(("text", "audio"), TINY)
    judge.towers["audio"].set_statistics(items.audio)
    batch = [judge.towers[m].prepare(items.media(m)[:16]) for m in judge.pair]
    optimizer = torch.optim.Adam(judge.parameters(), lr=1e-3)
    judge.train()
    losses = []
    for _ in range(8):
        loss = judge.loss(*batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # log(16) is the loss of embeddings that do not tell the 16 pairs apart
    assert losses[-1] < 0.5 * np.log(16) < losses[0]


def test_too_few_pairs_is_a_user_error(scenes, tmp_path):
    key, train, _ = scenes
    judges = load_contrastive_judges(key, train.subset(np.arange(20)), TINY, root=tmp_path,
                                     progress=False)
    with pytest.raises(UserError, match="batch size"):
        judges.make()

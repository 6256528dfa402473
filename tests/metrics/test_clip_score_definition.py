"""The CLIP score is what its docstring says: the mean over items of 100 * max(cos, 0),
clamped per item (Hessel et al.'s CLIP-S with scale 100 instead of their weight 2.5), which
is not torchmetrics' CLIPScore aggregation (that clamps the mean)."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

from metrics.alignment import clap_score, clip_score

PAPER_WEIGHT = 2.5
"""CLIP-S = w * max(cos(c, v), 0) with w = 2.5 (Hessel et al. 2021, eq. 1)."""


def _pairs(seed: int = 0, n: int = 400, dim: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs: about half of the cosines are negative, as for pairs near chance."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, dim)), rng.normal(size=(n, dim))


def _cosines(a: np.ndarray, b: np.ndarray) -> list[float]:
    """cos(a_i, b_i) one item at a time, written out."""
    return [float(x @ y / (math.sqrt(x @ x) * math.sqrt(y @ y))) for x, y in zip(a, b,
                                                                                 strict=True)]


def clip_s(a: np.ndarray, b: np.ndarray, weight: float) -> float:
    """The definition: the mean over items of ``weight * max(cos_i, 0)``."""
    return sum(weight * max(c, 0.0) for c in _cosines(a, b)) / len(a)


def test_clip_score_is_the_per_item_clamped_mean_at_scale_100():
    a, b = _pairs()
    cosines = np.array(_cosines(a, b))
    assert 0.3 < (cosines < 0).mean() < 0.7  # per-item and after-mean clamping differ here
    value = clip_score(a, b, seed=0).value
    assert value == pytest.approx(clip_s(a, b, weight=100.0), rel=1e-12)
    # The paper's CLIP-S of the same pairs is the value scaled by 2.5 / 100.
    assert value * PAPER_WEIGHT / 100 == pytest.approx(clip_s(a, b, weight=PAPER_WEIGHT))
    # Clamping after the mean would be a different number (here 0: the mean cosine is ~0).
    after_mean = max(100 * cosines.mean(), 0.0)
    assert value - after_mean > 10


def test_clap_score_is_the_unclamped_mean_at_scale_100():
    a, b = _pairs(seed=1)
    assert clap_score(a, b).value == pytest.approx(100 * np.mean(_cosines(a, b)), rel=1e-12)


@pytest.fixture
def torchmetrics_clip_score(monkeypatch):
    """torchmetrics' functional ``clip_score`` with its CLIP model replaced by given per-item
    cosines: what is left is exactly its aggregation of ``100 * cos`` over items."""
    module = importlib.import_module("torchmetrics.functional.multimodal.clip_score")
    monkeypatch.setattr(module, "_get_clip_model_and_processor", lambda name: (None, None))
    monkeypatch.setattr(module, "_clip_score_update",
                        lambda source, target, model, processor:
                        (100 * torch.as_tensor(source), len(source)))

    def score(cosines: np.ndarray) -> float:
        return float(module.clip_score(cosines, cosines, "per-item cosines"))

    return score


def test_torchmetrics_clamps_after_the_mean_and_we_clamp_per_item(torchmetrics_clip_score):
    """Both use 100 * cos; torchmetrics returns max(mean_i 100 cos_i, 0), ours
    mean_i 100 max(cos_i, 0), never smaller (max(., 0) is convex), equal exactly when no
    cosine is negative."""
    a, b = _pairs(seed=2)
    cosines = np.array(_cosines(a, b))
    ours = clip_score(a, b).value
    theirs = torchmetrics_clip_score(cosines)
    assert theirs == pytest.approx(max(100 * cosines.mean(), 0.0), abs=1e-4)
    assert ours > theirs + 10

    a, b = np.abs(a), np.abs(b)  # non-negative entries: no cosine is negative, no clamp
    positive = np.array(_cosines(a, b))
    assert positive.min() >= 0
    assert clip_score(a, b).value == pytest.approx(torchmetrics_clip_score(positive), rel=1e-5)

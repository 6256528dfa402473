"""CrossFlow: paper size, its KL settings, and a known-answer Gaussian check (the common
checks are in tests/support/method_contract.py; the pair-model bookkeeping it shares with CFM is
tested in tests/methods/test_cfm.py)."""

from __future__ import annotations

import pytest
import torch

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import parse_task
from methods.crossflow import CrossFlow
from support.linear_gaussian import GAUSSIAN_4_TO_6

pytestmark = pytest.mark.usefixtures("single_thread")

# The published 0.95B per pair: drift, variational encoder and logit scale.
PAPER_DRIFT, PAPER_ENCODER = 939_845_376, 17_725_440


def test_paper_preset_has_the_published_size_on_meta_device() -> None:
    with torch.device("meta"):
        model = CrossFlow({m: 768 for m in MODALITIES}, preset="paper")
    pair = model.pair_model("audio", "text")
    assert sum(p.numel() for p in pair.drift.parameters()) == PAPER_DRIFT
    assert sum(p.numel() for p in pair.encoder.parameters()) == PAPER_ENCODER
    assert model.parameter_count([parse_task("audio2text")]) == 957_570_817
    assert model.default_guidance == 7.0


def test_kl_settings() -> None:
    dims = {"text": 8, "image": 8}
    with pytest.raises(UserError, match="did you mean 'paper'"):
        CrossFlow(dims, kl_variant="papr")
    assert CrossFlow(dims).config.kl_lambda == 1e-2
    assert CrossFlow(dims, kl_variant="paper").config.kl_lambda == 1e-4
    assert CrossFlow(dims, kl_variant="paper", kl_weight=0.5).config.kl_lambda == 0.5


def test_learns_the_gaussian_conditional() -> None:
    """After 600 steps at a constant learning rate of 5e-5, samples of y | s match the
    truth within GAUSSIAN_4_TO_6's bounds (tests/support/linear_gaussian.py). Measured:
    residual mean 0.02 and std 0.35 (true 0.3), marginal mean 0.07, marginal covariance 5%
    off.

    The flow itself never sees the source: the conditional comes only through the start
    ``z0 = mu(s) + sigma(s) eps``, so the conditional is matched only as far as the starts
    of different sources separate; the marginal is what rectified flow preserves.
    """
    torch.manual_seed(0)
    model = CrossFlow(
        {"text": 4, "image": 6}, tasks=[parse_task("text2image")], lr=5e-5, warmup_steps=1,
        hidden=64, depth=2, encoder_hidden=64, time_embed_dim=32,
    )
    GAUSSIAN_4_TO_6.check_learned_by(model, steps=600)

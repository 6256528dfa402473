"""CFM: paper size, the pair-model bookkeeping every pairwise method shares (tested here,
on CFM), its settings, and a known-answer Gaussian check (the common checks are in
tests/support/method_contract.py)."""

from __future__ import annotations

import pytest
import torch

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import all_tasks, parse_task
from methods.cfm import CFM
from support.batches import partially_paired_batch
from support.linear_gaussian import GAUSSIAN_4_TO_6

pytestmark = pytest.mark.usefixtures("single_thread")

# CrossFlow's 0.95B backbone size, as its flow-matching baseline: drift and null vector.
PAPER_DRIFT, PAPER_NULL = 941_021_952, 768
SMALL = {"hidden": 64, "depth": 2, "time_embed_dim": 32, "warmup_steps": 1}
DIM = 8


def test_paper_preset_has_crossflow_backbone_size_on_meta_device() -> None:
    with torch.device("meta"):
        model = CFM({m: 768 for m in MODALITIES}, preset="paper")
    pair = model.pair_model("text", "image")
    assert sum(p.numel() for p in pair.drift.parameters()) == PAPER_DRIFT
    assert pair.null.numel() == PAPER_NULL
    assert model.parameter_count([parse_task("text2image")]) == PAPER_DRIFT + PAPER_NULL


def test_pairs_follow_the_tasks() -> None:
    dims = {m: DIM for m in MODALITIES}
    full = CFM(dims, **SMALL)
    assert len(full.pair_models) == 6
    model = CFM(dims, tasks=[parse_task("text+audio2image")], **SMALL)
    assert set(model.pair_models) == {"text->image", "audio->image"}
    assert model.supports(parse_task("audio2image"))
    assert "image->text" in (model.refusal(parse_task("image2text")) or "")
    one = full.parameter_count([parse_task("text2image")])
    assert full.parameter_count(all_tasks()[:6]) == 6 * one
    assert full.parameter_count(all_tasks()) == 6 * one
    assert full.parameter_count([parse_task("text+audio2image")]) == 2 * one


def test_loss_reaches_every_pair_and_needs_pairs() -> None:
    torch.manual_seed(0)
    model = CFM({m: DIM for m in MODALITIES}, **SMALL)
    model.loss(partially_paired_batch(dim=DIM)).backward()
    for key, pair in model.pair_models.items():
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in pair.parameters()), key
    with pytest.raises(ValueError, match="paired rows"):
        model.loss(partially_paired_batch(dim=DIM, patterns=[(0, 0, 0)]))


def test_time_sampling_is_checked() -> None:
    with pytest.raises(UserError, match="did you mean 'uniform'"):
        CFM({"text": DIM, "image": DIM}, time_sampling="unifrom")


def test_learns_the_gaussian_conditional() -> None:
    """After 1000 steps at a constant learning rate of 5e-5, samples of y | s match the
    truth within GAUSSIAN_4_TO_6's bounds (tests/support/linear_gaussian.py). Measured:
    residual mean 0.04 and std 0.42 (true 0.3), marginal mean 0.06, marginal covariance 9%
    off; the errors fall with training."""
    torch.manual_seed(0)
    text2image = [parse_task("text2image")]
    model = CFM({"text": 4, "image": 6}, tasks=text2image, **SMALL, lr=5e-5)
    GAUSSIAN_4_TO_6.check_learned_by(model, steps=1000)

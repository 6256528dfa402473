"""Joint (UniDiffuser / OmniFlow): paper size, which slots the loss scores, and a known
answer (the common checks are in tests/support/method_contract.py)."""

from __future__ import annotations

import pytest
import torch

from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import all_tasks, parse_task
from methods.joint import Joint
from support.linear_gaussian import GAUSSIAN_2D

pytestmark = pytest.mark.usefixtures("single_thread")

# U-ViT 1536 wide, 31 blocks (depth 30) with 15 long skips, over three 768-d slots:
# 949,079,040 trunk + 9,854,208 slot projections, modality and time embeddings.
PAPER_TOTAL = 958_933_248
DIM = 8
SMALL = {"hidden": 64, "depth": 2, "heads": 4, "time_embed_dim": 32, "warmup_steps": 20}


def test_paper_preset_on_meta_device() -> None:
    with torch.device("meta"):
        model = Joint({m: 768 for m in MODALITIES}, preset="paper")
    assert model.parameter_count(all_tasks()) == PAPER_TOTAL
    assert model.parameter_count([parse_task("audio2image")]) == PAPER_TOTAL
    assert model.default_guidance == 8.0


def test_every_task_needs_the_whole_network() -> None:
    model = Joint({"text": DIM, "image": 2 * DIM}, tasks=[parse_task("text2image")])
    assert model.supports(parse_task("image2text"))
    whole = sum(p.numel() for p in model.parameters())
    assert model.parameter_count([parse_task("text2image")]) == whole


def test_loss_ignores_absent_and_conditioning_slots() -> None:
    """With every row in conditional mode, one of two present slots is clean and unscored."""
    torch.manual_seed(0)
    model = Joint({m: DIM for m in MODALITIES}, **SMALL, conditional_prob=1.0, marginal_prob=0.0)
    every = torch.ones(16, dtype=torch.bool)
    batch = {m: torch.randn(16, DIM) for m in MODALITIES}
    batch["present"] = {"text": every, "image": every}  # audio absent everywhere
    loss = model.loss(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert model.network.output_proj["audio"][1].weight.grad.abs().sum() == 0
    assert model.network.output_proj["image"][1].weight.grad.abs().sum() > 0


def test_known_answer_gaussian() -> None:
    """Trained 400 steps on text-image pairs, its images given Gaussian texts match the
    linear-Gaussian truth within GAUSSIAN_2D's bounds (tests/support/linear_gaussian.py)."""
    torch.manual_seed(0)
    GAUSSIAN_2D.check_learned_by(Joint({"text": 2, "image": 2}, **SMALL), steps=400)

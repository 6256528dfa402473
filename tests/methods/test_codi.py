"""CoDi: paper size, which losses reach the encoders, what serving counts, weighted
conditions, and a known answer (the common checks are in tests/support/method_contract.py)."""

from __future__ import annotations

import pytest
import torch

from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import all_tasks, parse_task
from methods.codi import CoDi
from support.batches import partially_paired_batch
from support.linear_gaussian import GAUSSIAN_2D

pytestmark = pytest.mark.usefixtures("single_thread")

# Per target: a 1152x12 drift network with a 768-d condition (178,684,032 + 885,888) and a
# 768-d null vector; per source: a 768 -> 1152 -> 1152 -> 768 encoder (3,099,648).
PAPER_FLOW = 179_569_920 + 768
PAPER_ENCODER = 3_099_648
PAPER_TOTAL = 3 * PAPER_FLOW + 3 * PAPER_ENCODER
DIM = 8
SMALL = {
    "hidden": 64,
    "depth": 2,
    "align_dim": 16,
    "encoder_hidden": 64,
    "time_embed_dim": 32,
    "warmup_steps": 20,
}


def test_paper_preset_on_meta_device() -> None:
    with torch.device("meta"):
        model = CoDi({m: 768 for m in MODALITIES}, preset="paper")
    assert model.parameter_count(all_tasks()) == PAPER_TOTAL
    assert model.parameter_count([parse_task("audio2image")]) == PAPER_FLOW + PAPER_ENCODER
    assert model.parameter_count([parse_task("text+audio2image")]) == PAPER_FLOW + 2 * PAPER_ENCODER
    assert model.default_guidance == 7.5


def test_losses_reach_encoders_through_alignment_only() -> None:
    """The flow loss trains the flows; encoders get gradient only from InfoNCE (text anchor)."""
    torch.manual_seed(0)
    model = CoDi({m: DIM for m in MODALITIES}, **SMALL)
    terms = model.objective(partially_paired_batch(dim=DIM)).terms
    flow, alignment = terms["flow_loss"], terms["align_loss"]
    assert torch.isfinite(flow) and torch.isfinite(alignment) and alignment > 0
    flow.backward()
    assert all(p.grad is None for p in model.encoders.parameters())
    assert all(model.flows[m].output_proj.weight.grad.abs().sum() > 0 for m in MODALITIES)
    model.zero_grad()
    alignment.backward()
    assert all(
        any(p.grad.abs().sum() > 0 for p in model.encoders[m].parameters()) for m in MODALITIES
    )


def test_text_is_required_and_serving_counts_sources_and_targets() -> None:
    with pytest.raises(ValueError, match="text"):
        CoDi({"image": DIM, "audio": DIM})
    model = CoDi({"text": DIM, "image": 2 * DIM}, tasks=[parse_task("text2image")])
    served = model.parameter_count([parse_task("text2image"), parse_task("image2text")])
    assert served == sum(p.numel() for p in model.parameters())
    assert model.parameter_count([parse_task("text2image")]) < served


def test_condition_weights_select_sources() -> None:
    """A source of weight 0 leaves the condition, hence the samples, unchanged.

    The parameters are randomised: at initialisation (adaLN-Zero) no condition matters.
    """
    torch.manual_seed(0)
    model = CoDi({m: DIM for m in MODALITIES}, **SMALL)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=0.3)
    batch = partially_paired_batch(n=4, dim=DIM, patterns=[(1, 1, 1)])

    def sample(sources: list[str], **options: object) -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)
        given = {m: batch[m] for m in sources}
        return model.generate(given, ["image"], steps=3, generator=generator, **options)["image"]

    weighted = sample(["text", "audio"], weights={"text": 1.0, "audio": 0.0})
    assert torch.equal(weighted, sample(["text"]))
    assert not torch.equal(weighted, sample(["text", "audio"]))


def test_known_answer_gaussian() -> None:
    """Trained 400 steps on text-image pairs, its images given Gaussian texts match the
    linear-Gaussian truth within GAUSSIAN_2D's bounds (tests/support/linear_gaussian.py)."""
    torch.manual_seed(0)
    GAUSSIAN_2D.check_learned_by(CoDi({"text": 2, "image": 2}, **SMALL), steps=400)

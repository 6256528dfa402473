"""CoDi: paper size, losses, sampling contract, and a known answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import all_tasks, parse_task
from methods.codi import CoDi

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

# Known answer: text ~ N(0, I_2), image = A text + b + SIGMA * noise.
A = torch.tensor([[1.0, 0.5], [-0.5, 0.8]])
B = torch.tensor([0.5, -1.0])
SIGMA = 0.1


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    """One thread: the matrices are tiny and the machine is shared (see test_flowbind)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def gaussian_pairs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    source = torch.randn(n, 2, generator=g)
    return source, source @ A.T + B + SIGMA * torch.randn(n, 2, generator=g)


def pair_batches(count: int, size: int = 256) -> list[dict]:
    """Text-image pairs only, each batch freshly drawn."""
    batches = []
    for i in range(count):
        text, image = gaussian_pairs(size, seed=1000 + i)
        every = torch.ones(size, dtype=torch.bool)
        batches.append({"text": text, "image": image, "present": {"text": every, "image": every}})
    return batches


def mean_loss(model: CoDi, batches: list[dict]) -> float:
    torch.manual_seed(123)
    with torch.no_grad():
        return sum(model.loss(b).item() for b in batches) / len(batches)


@pytest.fixture(scope="module")
def trained() -> tuple[CoDi, float, float]:
    """A small CoDi model trained 400 Lightning steps on pairs; probe loss before/after."""
    pl.seed_everything(0, verbose=False)
    model = CoDi({"text": 2, "image": 2}, **SMALL)
    probe = pair_batches(4)
    before = mean_loss(model, probe)
    trainer = pl.Trainer(
        max_steps=400,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, DataLoader(pair_batches(400), batch_size=None))
    return model, before, mean_loss(model, probe)


def test_paper_preset_on_meta_device() -> None:
    with torch.device("meta"):
        model = CoDi({m: 768 for m in MODALITIES}, preset="paper")
    assert all(p.is_meta for p in model.parameters())
    assert model.parameter_count(all_tasks()) == PAPER_TOTAL
    assert model.parameter_count([parse_task("audio2image")]) == PAPER_FLOW + PAPER_ENCODER
    assert model.parameter_count([parse_task("text+audio2image")]) == PAPER_FLOW + 2 * PAPER_ENCODER
    assert model.default_guidance == 7.5


def test_loss_falls(trained: tuple[CoDi, float, float]) -> None:
    _, before, after = trained
    assert after < 0.5 * before


def test_losses_reach_encoders_through_alignment_only() -> None:
    """The flow loss trains the flows; encoders get gradient only from InfoNCE (text anchor)."""
    torch.manual_seed(0)
    model = CoDi({m: DIM for m in MODALITIES}, **SMALL)
    groups = torch.arange(24) % 3
    present = {"text": groups != 2, "image": groups != 1, "audio": groups != 0}
    batch = {m: torch.randn(24, DIM) * present[m][:, None] for m in MODALITIES}
    batch["present"] = present
    flow, alignment = model.losses(batch)
    assert torch.isfinite(flow) and torch.isfinite(alignment) and alignment > 0
    flow.backward()
    assert all(p.grad is None for p in model.encoders.parameters())
    assert all(model.flows[m].output_proj.weight.grad.abs().sum() > 0 for m in MODALITIES)
    model.zero_grad()
    alignment.backward()
    assert all(
        any(p.grad.abs().sum() > 0 for p in model.encoders[m].parameters()) for m in MODALITIES
    )
    with pytest.raises(ValueError, match="text"):
        CoDi({"image": DIM, "audio": DIM})


@pytest.mark.parametrize("task", ["audio2image", "text+audio2image", "text2image+audio"])
@pytest.mark.parametrize("guidance", [None, 2.0])
def test_generate_shapes_and_determinism(task: str, guidance: float | None) -> None:
    torch.manual_seed(0)
    model = CoDi({m: DIM for m in MODALITIES}, **SMALL)
    parsed = parse_task(task)
    sources = {m: torch.randn(5, DIM) for m in parsed.sources}

    def sample(seed: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        return model.generate(
            sources, parsed.targets, steps=3, guidance=guidance, generator=generator
        )

    first, again, other = sample(0), sample(0), sample(1)
    assert set(first) == set(parsed.targets)
    for m in parsed.targets:
        assert first[m].shape == (5, DIM)
        assert torch.equal(first[m], again[m])
        assert not torch.allclose(first[m], other[m])
    assert model.training


def test_serving_contract() -> None:
    model = CoDi({"text": DIM, "image": 2 * DIM}, tasks=[parse_task("text2image")])
    assert model.supports(parse_task("image2text"))
    assert "audio" in (model.refusal(parse_task("text2audio")) or "")
    assert model.default_sampling_steps == 20
    assert model.default_guidance is None
    served = model.parameter_count([parse_task("text2image"), parse_task("image2text")])
    assert served == sum(p.numel() for p in model.parameters())
    assert model.parameter_count([parse_task("text2image")]) < served
    with pytest.raises(UserError, match="did you mean 'align_dim'"):
        CoDi({"text": DIM, "image": DIM}, allign_dim=64)
    with pytest.raises(UserError, match="did you mean 'tiny'"):
        CoDi({"text": DIM, "image": DIM}, preset="tine")
    assert CoDi({"text": DIM, "image": DIM}, lr=3e-4).config.lr == 3e-4


def test_known_answer_gaussian(trained: tuple[CoDi, float, float]) -> None:
    """Generated images given Gaussian texts match the true linear-Gaussian answer.

    Truth: mean ``b``, covariance ``A A^T + SIGMA^2 I`` (entries up to 1.26) and
    cross-covariance ``Cov(image, text) = A``. With 4000 samples the sampling error of a
    mean is ~0.02 and of a covariance entry ~0.03, so the 0.15 tolerance is ~5 standard
    errors and leaves room for a 400-step model (observed errors <= 0.08), while a
    model that ignores the source (cross-covariance 0) or outputs N(0, I) fails it.
    The conditional error must be near ``SIGMA^2 = 0.01``, far below the ~1.1 of the
    marginal.
    """
    model = trained[0]
    text, _ = gaussian_pairs(4000, seed=7)
    image = model.generate(
        {"text": text}, ["image"], steps=20, generator=torch.Generator().manual_seed(0)
    )["image"]
    joint_cov = torch.cov(torch.cat([text, image], dim=1).T)
    assert (image.mean(dim=0) - B).abs().max() < 0.15
    assert (joint_cov[2:, 2:] - (A @ A.T + SIGMA**2 * torch.eye(2))).abs().max() < 0.15
    assert (joint_cov[2:, :2] - A).abs().max() < 0.15
    assert torch.mean((image - (text @ A.T + B)) ** 2) < 0.1

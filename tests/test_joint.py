"""Joint (UniDiffuser / OmniFlow): paper size, loss, sampling contract, and a known answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import all_tasks, parse_task
from methods.joint import Joint

# U-ViT 1536 wide, 31 blocks (depth 30) with 15 long skips, over three 768-d slots:
# 949,079,040 trunk + 9,854,208 slot projections, modality and time embeddings.
PAPER_TOTAL = 958_933_248
DIM = 8
SMALL = {"hidden": 64, "depth": 2, "heads": 4, "time_embed_dim": 32, "warmup_steps": 20}

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


def mean_loss(model: Joint, batches: list[dict]) -> float:
    torch.manual_seed(123)
    with torch.no_grad():
        return sum(model.loss(b).item() for b in batches) / len(batches)


@pytest.fixture(scope="module")
def trained() -> tuple[Joint, float, float]:
    """A small joint model trained 400 Lightning steps on pairs; probe loss before/after."""
    pl.seed_everything(0, verbose=False)
    model = Joint({"text": 2, "image": 2}, **SMALL)
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
        model = Joint({m: 768 for m in MODALITIES}, preset="paper")
    assert all(p.is_meta for p in model.parameters())
    assert model.parameter_count(all_tasks()) == PAPER_TOTAL
    assert model.parameter_count([parse_task("audio2image")]) == PAPER_TOTAL
    assert model.default_guidance == 8.0


def test_loss_falls(trained: tuple[Joint, float, float]) -> None:
    _, before, after = trained
    assert after < 0.5 * before


def test_loss_ignores_absent_and_conditioning_slots() -> None:
    """With every row in conditional mode, one of two present slots is clean and unscored."""
    torch.manual_seed(0)
    model = Joint({m: DIM for m in MODALITIES}, **SMALL, conditional_prob=1.0, marginal_prob=0.0)
    batch = pair_batches(1, size=16)[0]
    batch = {m: torch.randn(16, DIM) for m in MODALITIES} | {"present": batch["present"]}
    loss = model.loss(batch)  # audio is missing from "present": absent everywhere
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert model.network.output_proj["audio"][1].weight.grad.abs().sum() == 0
    assert model.network.output_proj["image"][1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("task", ["audio2image", "text+audio2image", "text2image+audio"])
@pytest.mark.parametrize("guidance", [None, 2.0])
def test_generate_shapes_and_determinism(task: str, guidance: float | None) -> None:
    torch.manual_seed(0)
    model = Joint({m: DIM for m in MODALITIES}, **SMALL)
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
    model = Joint({"text": DIM, "image": 2 * DIM}, tasks=[parse_task("text2image")])
    assert model.supports(parse_task("image2text"))
    assert "audio" in (model.refusal(parse_task("text2audio")) or "")
    assert model.default_sampling_steps == 20
    assert model.default_guidance == 1.5
    assert model.parameter_count([parse_task("text2image")]) == sum(
        p.numel() for p in model.parameters()
    )
    with pytest.raises(UserError, match="did you mean 'hidden'"):
        Joint({"text": DIM, "image": DIM}, hiden=64)
    with pytest.raises(UserError, match="did you mean 'tiny'"):
        Joint({"text": DIM, "image": DIM}, preset="tine")
    assert Joint({"text": DIM, "image": DIM}, lr=3e-4).config.lr == 3e-4


def test_known_answer_gaussian(trained: tuple[Joint, float, float]) -> None:
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

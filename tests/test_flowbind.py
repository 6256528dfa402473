"""FlowBind: exact paper sizes, loss and gradients, sampling shapes, and that it learns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import Task, all_tasks, parse_task
from methods.flowbind import FlowBind

PAPER_DRIFT = 178_684_032
PAPER_HEAD = 10_640_256
PAPER_TOTAL = 567_972_864

# A small model for the learning tests; everything else follows the "tiny" preset.
SMALL = {"hidden": 32, "depth": 2, "head_hidden": 32, "time_embed_dim": 32, "warmup_steps": 20}
DIM = 8


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    """Run on one thread: these matrices are tiny, and on a busy 2-core machine OpenMP
    threads waiting for each other made this file over ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_batch(n: int = 24, dim: int = DIM, seed: int = 0) -> dict:
    """Rows cycle through text-image, text-audio, image-audio, a triplet and a lone text."""
    g = torch.Generator().manual_seed(seed)
    patterns = [(1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1), (1, 0, 0)]
    mask = torch.tensor([patterns[i % len(patterns)] for i in range(n)], dtype=torch.bool)
    present = {m: mask[:, i] for i, m in enumerate(MODALITIES)}
    batch: dict = {m: torch.randn(n, dim, generator=g) * present[m][:, None] for m in MODALITIES}
    batch["present"] = present
    return batch


def test_paper_preset_has_the_published_size_on_meta_device() -> None:
    with torch.device("meta"):
        model = FlowBind({m: 768 for m in MODALITIES}, preset="paper")
    for m in MODALITIES:
        assert sum(p.numel() for p in model.drifts[m].parameters()) == PAPER_DRIFT
        assert sum(p.numel() for p in model.heads[m].parameters()) == PAPER_HEAD
    assert model.trainable_parameter_count() == PAPER_TOTAL
    assert model.parameter_count(all_tasks()) == 3 * PAPER_DRIFT
    assert model.parameter_count([parse_task("audio2image")]) == 2 * PAPER_DRIFT
    assert all(p.is_meta for p in model.parameters())


@pytest.mark.parametrize("variant", ["code", "paper"])
def test_loss_is_finite_and_reaches_every_head_and_drift(variant: str) -> None:
    torch.manual_seed(0)
    model = FlowBind({m: DIM for m in MODALITIES}, loss_variant=variant, modality_dropout=0.0)
    loss = model.loss(random_batch())
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    for m in MODALITIES:
        for net in (model.drifts[m], model.heads[m]):
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            assert grads and any(g.abs().sum() > 0 for g in grads), (variant, m)


def test_batch_without_pairs_is_rejected() -> None:
    model = FlowBind({m: DIM for m in MODALITIES})
    batch = random_batch(n=5)
    for m in ("image", "audio"):
        batch["present"][m] = torch.zeros(5, dtype=torch.bool)
    with pytest.raises(ValueError, match="paired"):
        model.loss(batch)


def test_modality_dropout_keeps_at_least_one_present_modality() -> None:
    torch.manual_seed(0)
    group_present = torch.tensor([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]]).bool()
    model = FlowBind({m: DIM for m in MODALITIES}, modality_dropout=1.0)
    assert torch.equal(model._keep(group_present), group_present)
    model = FlowBind({m: DIM for m in MODALITIES}, modality_dropout=0.5)
    for _ in range(50):
        keep = model._keep(group_present)
        assert keep.any(dim=1).all() and not (keep & ~group_present).any()


@pytest.mark.parametrize("task", ["audio2image", "text+audio2image", "text2image+audio"])
def test_generate_shapes_and_determinism(task: str) -> None:
    torch.manual_seed(0)
    model = FlowBind({"text": DIM, "image": DIM, "audio": DIM})
    parsed = parse_task(task)
    sources = {m: torch.randn(5, DIM) for m in parsed.sources}
    first = model.generate(sources, parsed.targets, steps=3)
    second = model.generate(sources, parsed.targets, steps=3, generator=torch.Generator())
    assert set(first) == set(parsed.targets)
    for m in parsed.targets:
        assert first[m].shape == (5, DIM)
        assert torch.equal(first[m], second[m])
    assert model.training


def test_serving_contract() -> None:
    model = FlowBind({"text": DIM, "image": DIM})
    assert model.supports(parse_task("text2image"))
    assert "audio" in (model.refusal(parse_task("text2audio")) or "")
    assert model.default_sampling_steps == 10
    assert model.parameter_count([Task(("text",), ("image",))]) < model.trainable_parameter_count()
    with pytest.raises(ValueError, match="guidance"):
        model.generate({"text": torch.zeros(2, DIM)}, ["image"], steps=2, guidance=3.0)
    with pytest.raises(UserError, match="did you mean 'lr'"):
        FlowBind({"text": DIM, "image": DIM}, lrr=1e-3)
    with pytest.raises(ValueError, match="one embedding width"):
        FlowBind({"text": DIM, "image": 2 * DIM})
    assert FlowBind({"text": DIM, "image": DIM}, lr=3e-4).hparams["lr"] == 3e-4


def synthetic(n: int, seed: int) -> dict[str, torch.Tensor]:
    """Each modality is a fixed random linear map of a shared 4-d latent plus small noise."""
    g = torch.Generator().manual_seed(seed)
    latent = torch.randn(n, 4, generator=g)
    data = {}
    for i, m in enumerate(MODALITIES):
        linear_map = torch.randn(DIM, 4, generator=torch.Generator().manual_seed(100 + i))
        x = latent @ linear_map.T + 0.1 * torch.randn(n, DIM, generator=g)
        data[m] = (x - x.mean(dim=0)) / x.std(dim=0)
    return data


def pair_batches(data: dict[str, torch.Tensor], count: int, size: int = 256) -> list[dict]:
    """Random batches whose rows are text-image, text-audio or image-audio pairs only."""
    g = torch.Generator().manual_seed(1)
    groups = torch.arange(size) % 3
    present = {"text": groups != 2, "image": groups != 1, "audio": groups != 0}
    batches = []
    for _ in range(count):
        idx = torch.randint(0, len(data["text"]), (size,), generator=g)
        batch: dict = {m: data[m][idx] * present[m][:, None] for m in MODALITIES}
        batch["present"] = present
        batches.append(batch)
    return batches


def mean_loss(model: FlowBind, batches: list[dict]) -> float:
    torch.manual_seed(123)
    model.eval()
    with torch.no_grad():
        return sum(model.loss(b).item() for b in batches) / len(batches)


@pytest.fixture(scope="module")
def trained() -> tuple[FlowBind, float, float]:
    """A small FlowBind trained 200 steps by Lightning; its loss before and after."""
    pl.seed_everything(0, verbose=False)
    model = FlowBind({m: DIM for m in MODALITIES}, **SMALL)
    probe = pair_batches(synthetic(768, seed=2), count=4)
    before = mean_loss(model, probe)
    trainer = pl.Trainer(
        max_steps=200,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, DataLoader(pair_batches(synthetic(3000, seed=0), 200), batch_size=None))
    return model, before, mean_loss(model, probe)


def test_loss_falls(trained: tuple[FlowBind, float, float]) -> None:
    _, before, after = trained
    assert after < 0.6 * before


@pytest.mark.parametrize(("source", "target"), [("text", "image"), ("audio", "text")])
def test_translation_transfers_information(
    trained: tuple[FlowBind, float, float], source: str, target: str
) -> None:
    model = trained[0]
    test = synthetic(1000, seed=3)
    pred = model.generate({source: test[source]}, [target], steps=10)[target]
    shuffled = test[target][torch.randperm(1000, generator=torch.Generator().manual_seed(0))]
    mse = torch.mean((pred - test[target]) ** 2)
    assert mse < 0.7 * torch.mean((pred - shuffled) ** 2)

"""FlowBind: exact paper sizes, both loss variants' gradients, pair groups and modality
dropout, one embedding width, and that a trained model translates (the common checks
are in tests/support/method_contract.py)."""

from __future__ import annotations

import pytest
import torch

from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import all_tasks, parse_task
from methods.flowbind import FlowBind
from support.batches import fit, partially_paired_batch, presence

pytestmark = pytest.mark.usefixtures("single_thread")

PAPER_DRIFT = 178_684_032
PAPER_HEAD = 10_640_256
PAPER_TOTAL = 567_972_864

# A small model for the learning test; everything else follows the "tiny" preset.
SMALL = {"hidden": 32, "depth": 2, "head_hidden": 32, "time_embed_dim": 32, "warmup_steps": 20}
DIM = 8
#: Pair groups, a triplet and a lone text: every row pattern FlowBind has to handle.
MIXED = [(1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1), (1, 0, 0)]


def test_paper_preset_has_the_published_size_on_meta_device() -> None:
    with torch.device("meta"):
        model = FlowBind({m: 768 for m in MODALITIES}, preset="paper")
    for m in MODALITIES:
        assert sum(p.numel() for p in model.drifts[m].parameters()) == PAPER_DRIFT
        assert sum(p.numel() for p in model.heads[m].parameters()) == PAPER_HEAD
    assert model.trainable_parameter_count() == PAPER_TOTAL
    assert model.parameter_count(all_tasks()) == 3 * PAPER_DRIFT
    assert model.parameter_count([parse_task("audio2image")]) == 2 * PAPER_DRIFT


@pytest.mark.parametrize("variant", ["code", "paper"])
def test_loss_is_finite_and_reaches_every_head_and_drift(variant: str) -> None:
    torch.manual_seed(0)
    model = FlowBind({m: DIM for m in MODALITIES}, loss_variant=variant, modality_dropout=0.0)
    loss = model.loss(partially_paired_batch(dim=DIM, patterns=MIXED))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    for m in MODALITIES:
        for net in (model.drifts[m], model.heads[m]):
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            assert grads and any(g.abs().sum() > 0 for g in grads), (variant, m)


def test_batch_without_pairs_is_rejected() -> None:
    model = FlowBind({m: DIM for m in MODALITIES})
    batch = partially_paired_batch(n=5, dim=DIM, patterns=[(1, 0, 0)])
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


def test_serving_counts_only_drifts_and_widths_must_match() -> None:
    model = FlowBind({"text": DIM, "image": DIM})
    assert model.parameter_count([parse_task("text2image")]) < model.trainable_parameter_count()
    with pytest.raises(ValueError, match="one embedding width"):
        FlowBind({"text": DIM, "image": 2 * DIM})


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
    present = presence(size)
    batches = []
    for _ in range(count):
        idx = torch.randint(0, len(data["text"]), (size,), generator=g)
        batch: dict = {m: data[m][idx] * present[m][:, None] for m in MODALITIES}
        batch["present"] = present
        batches.append(batch)
    return batches


@pytest.fixture(scope="module")
def trained() -> FlowBind:
    """A small FlowBind trained 200 steps by Lightning on pair groups."""
    torch.manual_seed(0)
    model = FlowBind({m: DIM for m in MODALITIES}, **SMALL)
    fit(model, pair_batches(synthetic(3000, seed=0), 200))
    return model


@pytest.mark.parametrize(("source", "target"), [("text", "image"), ("audio", "text")])
def test_translation_transfers_information(trained: FlowBind, source: str, target: str) -> None:
    test = synthetic(1000, seed=3)
    pred = trained.generate({source: test[source]}, [target], steps=10)[target]
    shuffled = test[target][torch.randperm(1000, generator=torch.Generator().manual_seed(0))]
    mse = torch.mean((pred - test[target]) ** 2)
    assert mse < 0.7 * torch.mean((pred - shuffled) ** 2)

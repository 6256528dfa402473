"""Budgets: parsing, measured FLOPs, and the callback that enforces them."""

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from benchmark.core.budget import Budget
from benchmark.core.errors import UserError
from benchmark.run.budget import BudgetCallback, training_flops_per_step

BATCH = 16
# forward x @ W^T: 2 * 16 * 8 * 4 multiply-adds; weight gradient: as many (inputs need none)
STEP_FLOPS = 2 * (2 * BATCH * 8 * 4)


class _Rows(Dataset):
    """Endless-enough batches shaped like anybench's: tensors plus ``present`` masks."""

    def __len__(self) -> int:
        return 1_000

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(index)
        return {"x": torch.randn(BATCH, 8, generator=generator),
                "present": {"text": torch.ones(BATCH, dtype=torch.bool)}}


class _Linear(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(8, 4)

    def loss(self, batch: dict) -> torch.Tensor:
        return self.layer(batch["x"]).square().mean()

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self.loss(batch)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _train(budget: Budget) -> BudgetCallback:
    model = _Linear()
    meter = BudgetCallback(budget, training_flops_per_step(model, _Rows()[0]))
    trainer = pl.Trainer(max_steps=-1, max_epochs=-1, logger=False, callbacks=[meter],
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    trainer.fit(model, DataLoader(_Rows(), batch_size=None))
    return meter


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("samples=256000", "samples", 256_000), ("steps=10", "steps", 10),
    ("flops=1e12", "flops", 1e12), ("seconds=2.5", "seconds", 2.5),
])
def test_budget_parses_each_kind(text, kind, value):
    assert Budget.parse(text) == Budget(kind, value)


@pytest.mark.parametrize(("text", "message"), [
    ("sample=10", "KIND one of samples, steps, flops, seconds"),
    ("steps=ten", "not a number"), ("seconds=0", "positive"), ("steps=2.5", "whole number"),
    ("steps", "KIND=VALUE"),
])
def test_bad_budgets_are_user_errors(text, message):
    with pytest.raises(UserError, match=message):
        Budget.parse(text)


def test_flops_per_step_counts_forward_and_weight_gradient_of_the_loss():
    assert training_flops_per_step(_Linear(), _Rows()[0]) == STEP_FLOPS


def test_flop_probe_leaves_the_model_and_the_global_rng_alone():
    model = _Linear()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    training_flops_per_step(model, _Rows()[0])
    assert torch.equal(torch.rand(3), expected)
    assert all(p.grad is None for p in model.parameters())


def test_samples_budget_stops_within_one_batch():
    meter = _train(Budget("samples", 100))
    assert 100 <= meter.samples < 100 + BATCH
    assert meter.steps == meter.samples // BATCH


def test_steps_and_flops_budgets_stop_at_the_limit():
    assert _train(Budget("steps", 5)).steps == 5
    meter = _train(Budget("flops", 3.5 * STEP_FLOPS))
    assert meter.steps == 4 and meter.flops == 4 * STEP_FLOPS


def test_seconds_budget_stops_after_the_limit_and_all_figures_are_logged():
    meter = _train(Budget("seconds", 0.2))
    figures = meter.figures()
    assert figures["seconds"] >= 0.2
    assert figures["steps"] > 0 and figures["samples"] == BATCH * figures["steps"]
    assert figures["flops"] == STEP_FLOPS * figures["steps"]


def test_checkpoints_are_kept_at_fractions_of_the_budget():
    meter = _train(Budget("steps", 8))
    assert [c["fraction"] for c in meter.checkpoints] == [1 / 8, 1 / 4, 1 / 2, 1.0]
    assert [c["steps"] for c in meter.checkpoints] == [1, 2, 4, 8]
    first, last = meter.checkpoints[0]["weights"], meter.checkpoints[-1]["weights"]
    assert not torch.equal(first["layer.weight"], last["layer.weight"])

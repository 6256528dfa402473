"""Training items with all three modalities, and batches with nothing to learn from.

FlowBind's ``triplets="pairs"`` (default) makes a triplet a row of each pair group: its
loss is the loss of the batch with every triplet replaced, in place, by its three pair
rows (ti, ta, ia), bit for bit under one RNG state, gradients included. ``"fused"``
keeps triplets as their own three-way group. Batches without triplets are the same
under both. A training batch without signal is skipped by Lightning's loop, counted in
``skipped_batches``, and changes no parameter; the joint model learns from
single-modality rows, so only a batch holding no modality at all is skipped for it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch import Tensor

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.tasks import parse_task
from methods import METHODS
from methods.base import AnyToAnyMethod
from methods.cfm import CFM
from methods.flowbind import FlowBind
from support.batches import fit, partially_paired_batch

pytestmark = pytest.mark.usefixtures("single_thread")

DIM = 8
SMALL = {"hidden": 16, "depth": 2, "head_hidden": 16, "time_embed_dim": 16}
#: Row patterns (text, image, audio): the three pairs, triplets, a lone text.
MIXED = [(1, 1, 1), (1, 1, 0), (1, 0, 1), (1, 1, 1), (0, 1, 1), (1, 0, 0)]
#: The pair rows a triplet stands for, in the documented order: ti, ta, ia.
TRIPLET_PAIRS = [(1, 1, 0), (1, 0, 1), (0, 1, 1)]
SINGLES = [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
NOTHING = [(0, 0, 0)]


def expanded(batch: dict) -> dict:
    """``batch`` with every row holding all three modalities replaced, where it stands,
    by its three pair rows (ti, ta, ia), the modality a pair lacks zeroed."""
    rows: list[tuple[int, tuple[int, ...]]] = []
    for i in range(len(batch["present"]["text"])):
        flags = tuple(int(batch["present"][m][i]) for m in MODALITIES)
        rows += [(i, pair) for pair in TRIPLET_PAIRS] if all(flags) else [(i, flags)]
    out: dict = {
        m: torch.stack([batch[m][i] * flags[k] for i, flags in rows])
        for k, m in enumerate(MODALITIES)
    }
    out["present"] = {
        m: torch.tensor([bool(flags[k]) for _, flags in rows]) for k, m in enumerate(MODALITIES)
    }
    return out


def loss_and_grads(model: AnyToAnyMethod, batch: dict, seed: int) -> tuple[Tensor, dict]:
    """The loss on ``batch`` under ``torch.manual_seed(seed)`` and every gradient it gives."""
    model.zero_grad()
    torch.manual_seed(seed)
    loss = model.loss(batch)
    loss.backward()
    return loss.detach(), {k: p.grad.clone() for k, p in model.named_parameters()
                           if p.grad is not None}


def flowbind(**overrides: Any) -> FlowBind:
    torch.manual_seed(0)
    return FlowBind({m: DIM for m in MODALITIES}, **SMALL, **overrides)


# --------------------------------------------------------------------- FlowBind triplets


@pytest.mark.parametrize("variant", ["code", "paper"])
def test_pairs_is_the_loss_of_the_batch_with_triplets_split_into_pairs(variant: str) -> None:
    """Exact, not only in expectation: each pair group's mean runs over the same rows
    (pairs and triplet copies) in the same order, so every draw (coins, anchor noise,
    times) lands on the same row. Modality dropout stays on (0.5)."""
    batch = partially_paired_batch(n=12, dim=DIM, seed=3, patterns=MIXED)
    model = flowbind(loss_variant=variant)
    twin = copy.deepcopy(model)
    loss, grads = loss_and_grads(model, batch, seed=7)
    loss_split, grads_split = loss_and_grads(twin, expanded(batch), seed=7)
    assert torch.equal(loss, loss_split)
    assert grads.keys() == grads_split.keys()
    assert all(torch.equal(grads[k], grads_split[k]) for k in grads)


def test_without_triplets_pairs_and_fused_are_identical() -> None:
    batch = partially_paired_batch(n=12, dim=DIM, seed=4, patterns=[*TRIPLET_PAIRS, (0, 1, 0)])
    pairs = flowbind()
    fused = flowbind(triplets="fused")
    loss, grads = loss_and_grads(pairs, batch, seed=1)
    loss_fused, grads_fused = loss_and_grads(fused, batch, seed=1)
    assert torch.equal(loss, loss_fused)
    assert all(torch.equal(grads[k], grads_fused[k]) for k in grads)


@pytest.mark.parametrize(("triplets", "groups", "anchors"), [
    # 2 triplets + 3 pair rows: the triplets are 6 pair rows, so 9 anchors in 3 groups
    ("pairs", {(1, 1, 0), (1, 0, 1), (0, 1, 1)}, 9),
    # the triplets are a fourth group fused three ways: one anchor per paired row
    ("fused", {(1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)}, 5),
])
def test_triplets_option_sets_the_groups_and_their_fusion(
    triplets: str, groups: set, anchors: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The groups ``_keep`` draws coins for and the fusions ``_fused_anchor`` samples."""
    model = flowbind(triplets=triplets, modality_dropout=0.0)
    seen: dict[str, Tensor] = {}
    keep, fuse = model._keep, model._fused_anchor

    def spy_keep(group_present: Tensor) -> Tensor:
        seen["groups"] = group_present
        return keep(group_present)

    def spy_fuse(data: dict, modalities: list, kept: Tensor) -> Tensor:
        seen["kept"] = kept
        return fuse(data, modalities, kept)

    monkeypatch.setattr(model, "_keep", spy_keep)
    monkeypatch.setattr(model, "_fused_anchor", spy_fuse)
    model.loss(partially_paired_batch(n=6, dim=DIM, patterns=MIXED))
    assert {tuple(int(v) for v in row) for row in seen["groups"]} == groups
    assert seen["kept"].shape[0] == anchors
    # no dropout: every row fuses every modality it holds in its group
    assert sorted(seen["kept"].sum(dim=1).tolist()) == sorted(
        [2] * anchors if triplets == "pairs" else [2, 2, 2, 3, 3]
    )


def test_unknown_triplets_use_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown triplets 'pair': did you mean 'pairs'"):
        FlowBind({m: DIM for m in MODALITIES}, triplets="pair")


# --------------------------------------------------------------- batches without signal


class ParameterChanges(pl.Callback):
    """Records, for every training batch, whether any parameter changed during it."""

    def __init__(self) -> None:
        self.changed: list[bool] = []
        self._before: list[Tensor] = []

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        self._before = [p.detach().clone() for p in pl_module.parameters()]

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        after = list(pl_module.parameters())
        self.changed.append(any(not torch.equal(a, b) for a, b in zip(after, self._before,
                                                                         strict=True)))


#: Per method, whether a batch of single-modality rows is learned from.
LEARNS_FROM_SINGLES = {"flowbind": False, "cfm": False, "crossflow": False, "codi": False,
                       "joint": True}


@pytest.mark.parametrize("name", sorted(LEARNS_FROM_SINGLES))
def test_batches_without_signal_are_skipped_and_counted(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fit whose first batches hold single-modality rows, then no modality at all,
    then pairs: no crash, skipped batches counted and logged, and they change nothing."""
    torch.manual_seed(0)
    model = METHODS.get(name)({m: DIM for m in MODALITIES}, preset="tiny")
    changes = ParameterChanges()
    batches = [
        partially_paired_batch(n=6, dim=DIM, seed=1, patterns=SINGLES),
        partially_paired_batch(n=6, dim=DIM, seed=2, patterns=SINGLES),
        partially_paired_batch(n=6, dim=DIM, seed=3, patterns=NOTHING),
        partially_paired_batch(n=6, dim=DIM, seed=4),
    ]
    monkeypatch.setattr(model, "configure_callbacks", lambda: [changes])
    trainer = fit(model, batches)
    learns = LEARNS_FROM_SINGLES[name]
    assert changes.changed == [learns, learns, False, True]
    assert model.skipped_batches == (1 if learns else 3)
    assert trainer.callback_metrics["train/skipped_batches"] == model.skipped_batches
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    # each skipped batch still counts as a Lightning step (what a steps budget reads)
    assert trainer.global_step == len(batches)


def test_a_skipped_batch_does_not_advance_the_learning_rate_warm_up() -> None:
    """Before: each skipped batch stepped the warm-up schedule as if it had trained."""
    torch.manual_seed(0)
    model = FlowBind({m: DIM for m in MODALITIES}, preset="tiny")
    warmup = model.config.warmup_steps
    assert warmup > 4  # else the rate would be the same either way
    batches = [partially_paired_batch(n=6, dim=DIM, seed=s, patterns=NOTHING) for s in (1, 2)]
    trainer = fit(model, [*batches, partially_paired_batch(n=6, dim=DIM, seed=3)])
    assert model.skipped_batches == 2 and trainer.global_step == 3
    # one optimiser step taken: the multiplier is (1 + 1) / warmup, not (3 + 1) / warmup
    learning_rate = trainer.optimizers[0].param_groups[0]["lr"]
    assert learning_rate == pytest.approx(model.config.lr * 2 / warmup)


@pytest.mark.parametrize("name", sorted(LEARNS_FROM_SINGLES))
@pytest.mark.parametrize("patterns", [SINGLES, NOTHING, MIXED])
def test_has_signal_is_false_exactly_when_the_objective_has_nothing(
    name: str, patterns: list
) -> None:
    torch.manual_seed(0)
    model = METHODS.get(name)({m: DIM for m in MODALITIES}, preset="tiny")
    batch = partially_paired_batch(n=6, dim=DIM, patterns=patterns)
    if model.has_signal(batch):
        assert torch.isfinite(model.loss(batch))
    else:
        with pytest.raises(ValueError):
            model.loss(batch)
    expected = patterns is MIXED or (patterns is SINGLES and LEARNS_FROM_SINGLES[name])
    assert model.has_signal(batch) == expected


def test_a_pair_model_needs_rows_of_its_own_pair() -> None:
    """A CFM built for text2image only has no signal in image+audio pairs."""
    model = CFM({m: DIM for m in MODALITIES}, tasks=[parse_task("text2image")])
    assert not model.has_signal(partially_paired_batch(n=4, dim=DIM, patterns=[(0, 1, 1)]))
    assert model.has_signal(partially_paired_batch(n=4, dim=DIM, patterns=[(1, 1, 1)]))

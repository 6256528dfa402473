"""The two training paths the benchmarks compare: the harness's and a bare PyTorch loop.

:func:`harness_training` trains through :func:`benchmark.run.training.train_method`, exactly as
``run`` does (Lightning's Trainer, the budget meter, the FLOP probe, the checkpoint copies,
the training log). :func:`train_bare` does what Lightning's automatic optimisation does
for an anybench method, and nothing else: for each batch of
:func:`benchmark.run.embeddings.training_loader` (the same shuffle, the same order),
``loss = method.loss(batch)``, ``loss.backward()``, ``optimizer.step()``,
``optimizer.zero_grad()`` and one step of the learning-rate schedule; a batch the method
cannot learn from (``has_signal`` false) takes no backward pass but still counts as a step,
as in the harness. No budget meter, no FLOP probe, no logging, no checkpoint copies.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch

from benchmark.core.config import RunConfig
from benchmark.run.embeddings import EmbeddedSplit, training_loader
from benchmark.run.resolution import resolve
from benchmark.run.training import TrainedMethod, train_method
from methods import METHODS

METHOD_NAMES = tuple(METHODS.names())


@dataclass(frozen=True)
class BareTraining:
    """Steps taken, the wall-clock and process CPU seconds they took and the method they
    trained."""

    steps: int
    seconds: float
    cpu_seconds: float
    method: pl.LightningModule

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds


def build_method(name: str, dims: dict[str, int], seed: int, preset: str = "tiny",
                 **overrides) -> pl.LightningModule:
    """A method built as ``run --protocol suite`` builds it (every task it serves), with the
    same seeding of its initial weights."""
    pl.seed_everything(seed, verbose=False)
    return METHODS.get(name)(dims, preset=preset, tasks=None, **overrides)


def train_bare(method: pl.LightningModule, train: EmbeddedSplit, batch_size: int, seed: int,
               steps: int) -> BareTraining:
    """``steps`` optimizer steps of ``method`` on ``train`` with a hand-written loop; the
    clock starts before the optimizer is built and stops after the last step."""
    started, cpu_started = time.perf_counter(), time.process_time()
    configured = method.configure_optimizers()
    optimizer = configured["optimizer"]
    scheduler = configured["lr_scheduler"]["scheduler"]
    method.train()
    loader = training_loader(train, batch_size, seed)  # one loader: each epoch reshuffles
    taken = 0
    while taken < steps:
        for batch in loader:
            if method.has_signal(batch):
                method.loss(batch).backward()
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            taken += 1
            if taken == steps:
                break
    return BareTraining(steps, time.perf_counter() - started,
                        time.process_time() - cpu_started, method)


def harness_training(method: str, steps: int, inputs, seed: int
                     ) -> tuple[float, float, TrainedMethod]:
    """``steps`` optimizer steps of ``method`` (suite protocol, tiny preset) through the
    harness's training path, its log in a temporary folder; returns the wall-clock and
    process CPU seconds of the whole path (Trainer set-up and FLOP probe included) and the
    trained method with its budget meter."""
    config = RunConfig(method=method, task="text2image", seed=seed, protocol="suite",
                       budget=f"steps={steps}", progress=False)
    resolved = resolve(config)
    with tempfile.TemporaryDirectory() as log_dir:
        started, cpu_started = time.perf_counter(), time.process_time()
        trained = train_method(config, resolved, inputs, Path(log_dir))
        return time.perf_counter() - started, time.process_time() - cpu_started, trained


def parameters_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Whether two trainings ended in bit-identical weights (the loops did the same work)."""
    left, right = a.state_dict(), b.state_dict()
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)

"""Training budgets: how much compute a run may spend, enforced and measured one way for
every method (AlgoPerf / MLPerf style, see shared/reference/evaluation.md).

A budget (benchmark/core/budget.py) is samples=N, steps=N, flops=X or seconds=S.
Whichever is enforced, all four are recorded. For quality-vs-compute curves the callback
keeps a copy of the weights when the enforced figure first reaches each of
CHECKPOINT_FRACTIONS of the budget (copying is off the clock); they are scored after
training. FLOPs per step are counted by torch's
``FlopCounterMode`` on one real training step (a copy of the model, the RNG state
restored afterwards), not estimated by hand; the optimizer update is not counted, as in
MLPerf's model-FLOPs convention. The clock covers training steps only: there is no
validation or checkpointing inside the loop, and evaluation happens after it.
"""

from __future__ import annotations

import copy
import time

import pytorch_lightning as pl
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark.core.budget import Budget

CHECKPOINT_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1.0)


def _synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so a clock reading covers it (a no-op off CUDA;
    asking ``torch.cuda.is_available()`` instead cost 0.3 ms per step on a CPU without a
    GPU driver, where it looks for the NVML library every time)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_flops_per_step(method: pl.LightningModule, batch: dict) -> int:
    """FLOPs of forward + backward of ``method.loss(batch)``, counted by torch on a copy of
    the method with the global RNG state restored, so the run itself is unaffected."""
    probe = copy.deepcopy(method)
    with torch.random.fork_rng(), FlopCounterMode(display=False) as counter:
        probe.loss(batch).backward()
    return int(counter.get_total_flops())


class BudgetCallback(pl.Callback):
    """Counts samples, steps, FLOPs and synchronized training seconds; stops training once
    the budget's own figure reaches its limit.

    ``flops_per_step`` comes from :func:`training_flops_per_step`: one process's count
    times the world size, as budgets are global (benchmark/run/distributed.py). Samples count
    every process's rows; rank 0's decision to stop (its clock decides a ``seconds``
    budget) is broadcast to all, so all stop on one step, and only rank 0 keeps the
    checkpoints. Lightning's ``max_time`` is not used: it counts validation and does not
    synchronize the device.
    """

    def __init__(self, budget: Budget, flops_per_step: int,
                 fractions: tuple[float, ...] = CHECKPOINT_FRACTIONS) -> None:
        self.budget = budget
        self.flops_per_step = flops_per_step
        self.samples = 0
        self.steps = 0
        self.seconds = 0.0
        self.fractions = fractions
        self.checkpoints: list[dict] = []
        self._started = 0.0
        self._paused = 0.0
        self._world_size = 1

    @property
    def flops(self) -> int:
        return self.steps * self.flops_per_step

    def figures(self) -> dict[str, float]:
        """All four budget figures as measured so far."""
        return {"samples": self.samples, "steps": self.steps, "flops": self.flops,
                "seconds": round(self.seconds, 3)}

    def spent(self) -> float:
        """How much of the enforced kind has been used."""
        return self.figures()[self.budget.kind]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._world_size = trainer.world_size
        _synchronize(pl_module.device)
        self._started = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs, batch: dict, batch_idx: int) -> None:
        _synchronize(pl_module.device)
        self.seconds = time.perf_counter() - self._started - self._paused
        # every process's batch has the same number of rows (ShardedBatchSampler)
        self.samples += next(iter(batch["present"].values())).shape[0] * self._world_size
        self.steps = trainer.global_step
        done = self.spent() >= self.budget.value
        if self._world_size > 1:
            done = trainer.strategy.broadcast(done, src=0)
        reached = [f for f in self.fractions[len(self.checkpoints):]
                   if done or self.spent() >= f * self.budget.value]
        if reached and trainer.is_global_zero:
            paused = time.perf_counter()
            weights = {k: v.detach().to("cpu", copy=True)
                       for k, v in pl_module.state_dict().items()}
            for fraction in reached:
                self.checkpoints.append({"fraction": fraction, **self.figures(),
                                         "weights": weights})
            self._paused += time.perf_counter() - paused
        if done:
            trainer.should_stop = True

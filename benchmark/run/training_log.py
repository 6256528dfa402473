"""A run's training log: which Lightning loggers write it and what is logged.

Every run writes Lightning's own ``CSVLogger`` file, ``<log dir>/metrics.csv``; with
``--logger tensorboard`` a ``TensorBoardLogger`` writes the same rows under
``<log dir>/tensorboard/`` as well (TensorBoard is not a dependency: RunConfig refuses
``tensorboard`` with a UserError that says what to install when neither ``tensorboard``
nor ``tensorboardX`` is). Every :func:`logging_interval` optimizer steps, and at the
last, a step is logged with these columns (a CSV file holds them as two rows of that
step, Lightning's with the method's own ``self.log`` values and
:class:`TrainingLogCallback`'s; benchmark/results/training_log.py reads them, merged):

    step                  Lightning's index of the optimizer step (0 is the first)
    train/loss            the method's training loss on that step's batch
    train/loss_mean       the mean training loss over the steps since the previous row
                          (batches without signal left out): a single batch's loss is
                          noisy, so the report's curves and flags use this one
    train/<term>          each named term of the method's objective, where it has some
    train/lr              the learning rate that step was taken with
    train/grad_norm       total L2 norm of all parameter gradients before that step's
                          optimizer update (read only: the update is unchanged)
    train/samples         training rows seen so far, counted by the BudgetCallback
    train/flops           model FLOPs so far (steps x the measured FLOPs per step)
    train/samples_per_s   rows per second of training clock since the previous row

Logging reads values and never writes to the model, the optimizer or any random stream,
so a run trains bit-identical weights with or without it (tests/harness/test_training_log.py).
It does take time on the training clock, mostly one gradient norm per logged step: about
4 ms a row (CoDi, 1.9M parameters) to 24 ms (CrossFlow, 16.7M) on the project's shared
2-core CPU (measured as 0.2 s and 1.2 s for 50 rows).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from benchmark.core.budget import Budget
from benchmark.results.training_log import COLUMN_PREFIX, LOG_FILE
from benchmark.run.budget import BudgetCallback

LOG_POINTS = 100
"""About how many rows a run logs over its budget: enough for a curve, few enough to read.
The method logs its single-batch loss only on these rows (methods/base.py), so the training
log keeps at least this many points of it on any run of at least this many steps."""

SECONDS_BUDGET_INTERVAL = 5
"""Steps between rows under a ``seconds`` budget, whose number of steps is not known before
training. The tiny presets take 4 to 15 steps a second at batch 256 on the project's
2-core CPU (the example suite: CrossFlow 4.4, FlowBind 10.6, CoDi 15.3), so a 30-second
budget gets about 25 to 90 rows."""



class _MetricsOnly:
    """A Lightning logger that keeps the metrics and not the hyperparameters: the record
    holds every setting of the run, and Lightning's ``hparams.yaml`` would repeat them as
    YAML with Python object tags (a file that runs code when loaded unsafely)."""

    def log_hyperparams(self, *args, **kwargs) -> None:
        """Nothing: see the class docstring."""


class MetricsCSVLogger(_MetricsOnly, CSVLogger):
    """Lightning's CSVLogger without ``hparams.yaml``."""


class MetricsTensorBoardLogger(_MetricsOnly, TensorBoardLogger):
    """Lightning's TensorBoardLogger without ``hparams.yaml`` (needs ``tensorboard`` or
    ``tensorboardX`` installed when it is made)."""


def training_loggers(kind: str, log_dir: Path) -> list[Logger]:
    """The loggers of a run writing into ``log_dir``: Lightning's CSVLogger (always, its
    file is ``log_dir/metrics.csv``) and, for ``kind="tensorboard"``, a TensorBoardLogger
    writing under ``log_dir/tensorboard/`` (RunConfig has checked that it is installed).
    Neither writes the hyperparameters (:class:`_MetricsOnly`)."""
    loggers: list[Logger] = [MetricsCSVLogger(save_dir=log_dir, name="", version="")]
    if kind == "tensorboard":
        loggers.append(MetricsTensorBoardLogger(save_dir=log_dir, name="tensorboard",
                                                version="", default_hp_metric=False))
    return loggers


def log_file(log_dir: Path) -> Path:
    """Where the CSV log of a run writing into ``log_dir`` is."""
    return log_dir / LOG_FILE


def planned_steps(budget: Budget, batch_size: int, flops_per_step: int) -> int | None:
    """Optimizer steps a budget allows, where that is known before training: a ``steps``
    budget's value, a ``samples`` budget over full batches, a ``flops`` budget over the
    measured FLOPs per step; None for ``seconds``."""
    if budget.kind == "steps":
        return int(budget.value)
    if budget.kind == "samples":
        return math.ceil(budget.value / batch_size)
    if budget.kind == "flops" and flops_per_step > 0:
        return math.ceil(budget.value / flops_per_step)
    return None


def logging_interval(budget: Budget, batch_size: int, flops_per_step: int) -> int:
    """Lightning's ``log_every_n_steps`` for a run: about :data:`LOG_POINTS` rows over the
    planned steps (every step for a run of fewer steps), or every
    :data:`SECONDS_BUDGET_INTERVAL` steps when the number of steps is not known."""
    steps = planned_steps(budget, batch_size, flops_per_step)
    if steps is None:
        return SECONDS_BUDGET_INTERVAL
    return max(1, steps // LOG_POINTS)


class TrainingLogCallback(pl.Callback):
    """Writes ``train/loss_mean``, ``train/lr``, ``train/grad_norm``, ``train/samples``,
    ``train/flops`` and ``train/samples_per_s`` (module docstring) to the Trainer's
    loggers on the steps Lightning writes its row of the method's own ``self.log`` values.

    They go to the loggers directly, under the step of Lightning's row: routing six more
    values through ``LightningModule.log`` cost about 10 ms per row on this project's
    2-core CPU, a few percent of a short run's training clock. A CSV file then holds two
    rows per logged step (Lightning's LearningRateMonitor does the same);
    :func:`read_training_log` merges them. Other steps only add their loss to a sum and
    note the learning rate. ``meter`` must come before this callback in the Trainer's
    list: its counts are read after it has updated them for the step. The gradient norm
    is taken at the end of a logged step, from the gradients its optimizer update has just
    read: the update does not change them, and Lightning clears them only in the next
    step.
    """

    def __init__(self, meter: BudgetCallback) -> None:
        self.meter = meter
        self._parameters: list[torch.nn.Parameter] = []
        self._lr = math.nan
        self._logged_samples = 0
        self._logged_seconds = 0.0
        self._loss_sum = torch.zeros((), dtype=torch.float64)
        self._losses = 0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._parameters = [p for p in pl_module.parameters() if p.requires_grad]

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: dict, batch_idx: int) -> None:
        # the rate this step's update uses: the schedule advances after the update
        self._lr = float(trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs, batch: dict, batch_idx: int) -> None:
        if outputs:  # empty for a batch without signal: no loss, no update
            self._loss_sum += outputs["loss"].detach().to("cpu", torch.float64)
            self._losses += 1
        # Lightning writes its row after this hook when the step count is a multiple of
        # log_every_n_steps, or when training is stopping (the budget is spent).
        if trainer.global_step % trainer.log_every_n_steps and not trainer.should_stop:
            return
        meter = self.meter
        elapsed = meter.seconds - self._logged_seconds
        figures: dict[str, float] = {
            "lr": self._lr,
            "samples": meter.samples,
            "flops": meter.flops,
            "samples_per_s": ((meter.samples - self._logged_samples) / elapsed
                              if elapsed > 0 else math.nan),
        }
        gradients = [p.grad for p in self._parameters if p.grad is not None]
        if gradients:  # none after a batch without signal
            figures["grad_norm"] = float(torch.nn.utils.get_total_norm(gradients))
        if self._losses:
            figures["loss_mean"] = float(self._loss_sum) / self._losses
        metrics = {f"{COLUMN_PREFIX}{name}": value for name, value in figures.items()}
        for logger in trainer.loggers:  # Lightning's row of this step has index step - 1
            logger.log_metrics(metrics, step=trainer.global_step - 1)
        self._logged_samples, self._logged_seconds = meter.samples, meter.seconds
        self._loss_sum, self._losses = torch.zeros((), dtype=torch.float64), 0

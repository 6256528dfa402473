"""Training a method under its budget: build it for the run's protocol, meter the budget
(benchmark/run/budget.py), log the training (benchmark/run/training_log.py) and fit it
with Lightning on the devices and strategy the run asks for (benchmark/run/distributed.py).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from benchmark.core.budget import Budget
from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.core.progress import stage
from benchmark.run.budget import BudgetCallback, training_flops_per_step
from benchmark.run.distributed import TrainingData, TrainingEngine, trainer_arguments
from benchmark.run.resolution import ResolvedRun
from benchmark.run.training_log import (
    TrainingLogCallback,
    logging_interval,
    planned_steps,
    training_loggers,
)


def quiet_lightning() -> None:
    """Lightning's info banners and its own internal deprecation notices are not ours."""
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*treespec, LeafSpec.*")
    # A logging interval longer than an epoch is fine: the log counts steps across epochs.
    warnings.filterwarnings("ignore", message=r".*is smaller than the logging interval.*")


@dataclass
class TrainedMethod:
    """A method after training under its budget, with what its records need: the batch
    size each process trained with (its own, or less when the training split is smaller
    than a global batch) and how it trained (benchmark/run/distributed.py
    ``TrainingEngine.summary``)."""

    method: object
    meter: BudgetCallback
    budget: Budget
    dims: dict[str, int]
    batch_size: int
    engine: dict[str, object]


def train_method(config: RunConfig, resolved_run: ResolvedRun, inputs, log_dir: Path
                 ) -> TrainedMethod:
    """Build the method for the protocol and train it under the budget, its training log
    (benchmark/run/training_log.py) written into ``log_dir``, on the devices and with the
    strategy and precision ``config`` asks for (benchmark/run/distributed.py)."""
    import pytorch_lightning as pl
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    from benchmark.run.embeddings import training_loader

    train = inputs.embeddings["train"]
    dims = inputs.dims
    world = config.world_size
    tasks = [config.task] if config.protocol == "task" else None
    pl.seed_everything(config.seed, verbose=False)
    method = resolved_run.method_cls(dims, preset=config.preset, tasks=tasks,
                                     **resolved_run.overrides)
    batch_size = min(method.config.batch_size, len(train) // world)
    if batch_size < 1:
        raise UserError(f"the training split has {len(train)} items, fewer than the {world} "
                        "training processes asked for: give fewer --devices / --num-nodes")
    if batch_size < method.config.batch_size:
        stage(f"the training split has {len(train)} items, fewer than one global batch of "
              f"{method.config.batch_size} x {world} processes: training on batches of "
              f"{batch_size} per process")
    budget = resolved_run.budget or Budget("steps", method.config.max_steps)
    # A separate loader for the FLOP probe, so the training shuffle is not advanced; it
    # probes the first batch the method learns from (one without signal is skipped).
    probe_batch = next((batch for batch in training_loader(train, batch_size, config.seed)
                        if method.has_signal(batch)), None)
    if probe_batch is None:
        raise UserError(f"{config.method} has nothing to learn from in this dataset's "
                        "training split: no training item holds two of its modalities")
    meter = BudgetCallback(budget, training_flops_per_step(method, probe_batch) * world)
    log_every = logging_interval(budget, batch_size * world, meter.flops_per_step)
    # The meter stops training; a known step count is also the Trainer's max_steps (the
    # same step) so the method knows its last step and logs its loss there (methods/base.py).
    last_step = planned_steps(budget, batch_size * world, meter.flops_per_step) or -1
    engine = TrainingEngine()

    scope = config.task.name if tasks else "every task it serves"
    processes = f" on {world} processes" if world > 1 else ""
    stage(f"training {config.method} [{config.preset}] for {scope} under budget {budget}"
          f"{processes}")
    try:
        trainer = pl.Trainer(
            max_steps=last_step, max_epochs=-1, **trainer_arguments(config),
            logger=training_loggers(config.logger, log_dir), log_every_n_steps=log_every,
            enable_checkpointing=False, enable_model_summary=False,
            callbacks=[meter, TrainingLogCallback(meter), engine],  # the log reads the meter
            enable_progress_bar=config.progress, deterministic=True,
        )
    except (MisconfigurationException, ValueError) as error:
        raise UserError(f"Lightning cannot train with --accelerator {config.accelerator} "
                        f"--devices {config.devices} --num-nodes {config.num_nodes} --strategy "
                        f"{config.strategy} --precision {config.precision} here: "
                        f"{str(error).splitlines()[0]}") from None
    trainer.fit(method, datamodule=TrainingData(train, batch_size, config.seed))
    return TrainedMethod(method.cpu(), meter, budget, dims, batch_size, engine.summary)

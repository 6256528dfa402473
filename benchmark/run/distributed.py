"""Training on several devices and nodes with Lightning's own strategies.

A run asks for ``devices`` processes on each of ``num_nodes`` nodes (RunConfig); Lightning
starts them (its subprocess launcher re-runs the same ``python -m benchmark run`` command
with ``LOCAL_RANK`` set; under SLURM, ``srun`` starts one task per device) and joins them
in one process group (gloo on CPU, NCCL on GPU). With world size W and per-process batch
B, every optimizer step sees a global batch of ``W * B`` rows, each process a disjoint
share of it (benchmark/run/embeddings.py ``ShardedBatchSampler``), and DDP averages the
gradients, so a step is the step one process would take on the global batch.

Budgets are global (benchmark/run/budget.py): ``samples`` counts the rows of every process,
``flops`` sums the processes' FLOPs (the probe's per-process count times W), and
``seconds`` is rank 0's clock; rank 0's decision to stop is broadcast every step, so all
processes stop on the same step. Only rank 0 keeps the quality-vs-compute checkpoints,
samples, evaluates and writes records: every other process (a *secondary rank*,
benchmark/core/ranks.py) trains, then ends without writing anything or printing stages,
and never claims a run or opens a staging folder.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytorch_lightning as pl
import torch

from benchmark.run.embeddings import EmbeddedSplit, training_loader

if TYPE_CHECKING:
    from benchmark.core.config import RunConfig

def trainer_arguments(config: RunConfig) -> dict[str, Any]:
    """Lightning Trainer arguments for the run's accelerator, devices, nodes, strategy and
    precision. ``auto`` with more than one process, and ``ddp``, are DDP with
    ``find_unused_parameters``: a method may leave a modality's network out of a step
    whose batch lacks that modality. The data is sharded by :class:`TrainingData`, not by
    Lightning's distributed sampler."""
    from pytorch_lightning.strategies import DDPStrategy

    strategy: object = config.strategy
    if config.strategy == "ddp" or (config.strategy == "auto" and config.world_size > 1):
        strategy = DDPStrategy(find_unused_parameters=True)
    return {"accelerator": config.accelerator, "devices": config.devices,
            "num_nodes": config.num_nodes, "strategy": strategy,
            "precision": config.precision, "use_distributed_sampler": False}


class TrainingData(pl.LightningDataModule):
    """The training loader of this process: its rank's share of each global batch
    (benchmark/run/embeddings.py ``training_loader``), made once the Trainer knows the rank."""

    def __init__(self, split: EmbeddedSplit, batch_size: int, seed: int) -> None:
        super().__init__()
        self.split, self.batch_size, self.seed = split, batch_size, seed

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return training_loader(self.split, self.batch_size, self.seed,
                               self.trainer.global_rank, self.trainer.world_size)


def device_name(device: torch.device) -> str:
    """A device's model name: the GPU's, or the CPU's from ``/proc/cpuinfo``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"cpu: {line.split(':', 1)[1].strip()}"
    except OSError:
        pass
    return f"cpu: {platform.processor() or platform.machine()}"


class TrainingEngine(pl.Callback):
    """Notes how the training ran, for the record: accelerator, strategy, precision, world
    size, nodes, and every process's device name (gathered from all ranks at the start)."""

    def __init__(self) -> None:
        self.summary: dict[str, Any] = {}

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        name = device_name(trainer.strategy.root_device)
        names = [name]
        if trainer.world_size > 1 and torch.distributed.is_initialized():
            names = [None] * trainer.world_size
            torch.distributed.all_gather_object(names, name)
        self.summary = {
            "accelerator": type(trainer.accelerator).__name__,
            "strategy": type(trainer.strategy).__name__,
            "precision": trainer.precision,
            "world_size": trainer.world_size,
            "num_nodes": trainer.num_nodes,
            "devices": names,
        }

"""What a sweep may run on and what each SLURM job asks for: the settings the ``sweep``
command parses, kept apart from the executors so that parsing imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmark.core.config import RunConfig

EXECUTORS = ("local", "submitit-local", "slurm")
"""local: the sweep's own run processes (benchmark/sweep/local.py); submitit-local: submitit
jobs on this machine; slurm: a SLURM job array through submitit."""

JOBS_FOLDER = ".submitit"
"""Where in the results folder submitit keeps its job files (pickles, logs, scripts)."""


@dataclass(frozen=True)
class SlurmResources:
    """What each job of a SLURM sweep asks for (``sweep --slurm-*``): ``time_min`` of
    wall-clock, ``cpus_per_task`` CPUs and ``gpus_per_node`` GPUs, ``mem_gb`` of memory
    (None: the partition's default), at most ``array_parallelism`` jobs at once."""

    partition: str | None = None
    time_min: int = 60
    gpus_per_node: int = 0
    cpus_per_task: int = 2
    mem_gb: float | None = None
    array_parallelism: int = 16

    def parameters(self, config: RunConfig) -> dict[str, object]:
        """submitit's ``update_parameters`` for a job training ``config``: one task per
        device on each node."""
        parameters: dict[str, object] = {
            "timeout_min": self.time_min, "cpus_per_task": self.cpus_per_task,
            "gpus_per_node": self.gpus_per_node, "nodes": config.num_nodes,
            "tasks_per_node": config.devices, "slurm_array_parallelism": self.array_parallelism,
            "name": "anybench",
        }
        if self.partition:
            parameters["slurm_partition"] = self.partition
        if self.mem_gb is not None:
            parameters["mem_gb"] = self.mem_gb
        return parameters

"""Sweeps through submitit: each training group of a sweep as one job, started as a local
subprocess (``submitit-local``) or as a task of one SLURM job array (``slurm``).

A job runs :class:`GroupJob`: in the job's own process it claims the group's run keys
(benchmark/run_claims.py; a run done or claimed meanwhile is left alone) and calls the
same function ``python -m benchmark run`` calls (benchmark/run_in_process.py) with the
runs' :class:`RunConfig` objects, pickled by submitit, not re-parsed flags. Records go
through the results folder's staging area like any run's (benchmark/staging.py), so a job
killed at any point leaves no partial record, and the next sweep on the folder makes only
what has no ``ok`` record. A job that SLURM preempts or times out is checkpointed by
submitit (:meth:`GroupJob.checkpoint`) and re-queued once; its in-flight run restarts
from the beginning.

``submitit-local`` keeps ``jobs`` jobs at a time and waits for all of them. ``slurm``
submits one array (``--array=0-(n-1)%parallelism``) and returns: the jobs run on the
cluster while the sweep command is gone; running the same sweep again once they are done
lists their records and submits only what is still missing. Multi-process trainings ask
SLURM for ``devices`` tasks per node on ``num_nodes`` nodes, and Lightning joins them
(benchmark/distributed.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmark.core import exit_codes
from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.core.ranks import is_secondary_rank

EXECUTORS = ("local", "submitit-local", "slurm")
"""local: the sweep's own run processes (benchmark/sweep.py); submitit-local: submitit jobs
on this machine; slurm: a SLURM job array through submitit."""

JOBS_FOLDER = ".submitit"
"""Where in the results folder submitit keeps its job files (pickles, logs, scripts)."""

REQUEUES = 1
"""How many times a preempted or timed-out job is re-queued by submitit."""

POLL_S = 0.5


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


@dataclass
class JobOutcome:
    """What a :class:`GroupJob` did: run keys it ran (with the exit status of that
    training), found done already, or found claimed by another process."""

    code: int | None = None
    ran: list[str] = field(default_factory=list)
    done_meanwhile: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)


class GroupJob:
    """One training group of a sweep (configs that differ only in their task), run inside a
    submitit job; ``threads``: the torch threads to compute with (None: the run's own
    choice, from the CPUs the job may use)."""

    def __init__(self, configs: Sequence[RunConfig], threads: int | None = None,
                 requeues_left: int = REQUEUES) -> None:
        self.configs = list(configs)
        self.threads = threads
        self.requeues_left = requeues_left

    def __call__(self) -> dict:
        from benchmark.results_folder import ok_run_keys
        from benchmark.run_claims import try_claim
        from benchmark.run_in_process import run_in_process

        if self.threads is not None:
            os.environ["OMP_NUM_THREADS"] = str(self.threads)
        if is_secondary_rank():  # one task of a multi-process training: rank 0 claimed it
            run_in_process(self.configs)
            return asdict(JobOutcome())
        outcome, claims = JobOutcome(), []
        folder = self.configs[0].results_dir
        try:
            # claim first, then look for records: a run another process finished before
            # our claim is seen as done (the local sweep's order, benchmark/sweep.py)
            held = []
            for config in self.configs:
                claim = try_claim(folder, config.run_key())
                if claim is None:
                    outcome.elsewhere.append(config.run_key())
                else:
                    claims.append(claim)
                    held.append(config)
            done = ok_run_keys([folder]) if held else set()
            todo = [config for config in held if config.run_key() not in done]
            outcome.done_meanwhile = [c.run_key() for c in held if c.run_key() in done]
            if todo:
                outcome.ran = [config.run_key() for config in todo]
                try:
                    outcome.code = run_in_process(todo)
                except UserError as error:
                    from benchmark.records import failed_record, write_record

                    for config in todo:
                        write_record(failed_record(config, str(error)), folder)
                    outcome.code = exit_codes.USER_ERROR
            return asdict(outcome)
        finally:
            for claim in claims:
                claim.release()

    def checkpoint(self):
        """submitit calls this when the job is preempted or about to time out: the same
        group again (runs done by then are skipped), at most :data:`REQUEUES` times."""
        if self.requeues_left < 1:
            return None
        import submitit

        return submitit.helpers.DelayedSubmission(
            GroupJob(self.configs, self.threads, self.requeues_left - 1))

    def describe(self) -> str:
        config = self.configs[0]
        tasks = ",".join(c.task.name for c in self.configs)
        return f"{config.method} {tasks} seed {config.seed}"


def make_executor(kind: str, folder: Path, resources: SlurmResources | None = None,
                  config: RunConfig | None = None):
    """A submitit executor of ``kind`` keeping its files under ``folder``; for ``slurm``,
    with ``resources`` for jobs like ``config``. A one-line UserError where SLURM's
    commands are missing."""
    import submitit

    if kind == "submitit-local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=(resources or SlurmResources()).time_min)
        return executor
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
    except RuntimeError as error:
        raise UserError(f"--executor slurm needs SLURM's commands (sbatch, srun) on PATH: "
                        f"{error}; run the sweep from a cluster login node, or use "
                        "--executor submitit-local") from None
    executor.update_parameters(**(resources or SlurmResources()).parameters(config))
    return executor


def submit_and_wait(groups: Sequence[Sequence[RunConfig]], jobs: int, threads: int | None,
                    progress_update, folder: Path, resources: SlurmResources
                    ) -> list[tuple[GroupJob, dict | None, str]]:
    """Run every group as a submitit-local job, ``jobs`` at a time, each stopped after
    ``resources.time_min`` minutes, and wait for them. Returns per group its job, the
    :class:`JobOutcome` dict it returned (None when the job itself failed: killed, timed
    out, or its process crashed) and the job's error text."""
    executor = make_executor("submitit-local", folder, resources)
    queue = [GroupJob(group, threads) for group in groups]
    running: list[tuple[GroupJob, object]] = []
    finished = []
    try:
        while queue or running:
            while queue and len(running) < jobs:
                work = queue.pop(0)
                running.append((work, executor.submit(work)))
            time.sleep(POLL_S)
            for entry in [entry for entry in running if entry[1].done()]:
                running.remove(entry)
                work, job = entry
                try:
                    finished.append((work, job.result(), ""))
                except Exception as error:  # submitit's FailedJobError, UncompletedJobError
                    finished.append((work, None, _last_lines(str(error))))
                progress_update(work, finished[-1][1])
    except KeyboardInterrupt:  # the jobs in flight stop too, without a record
        for _, job in running:
            job.cancel(check=False)
        raise
    return finished


def submit_array(groups: Sequence[Sequence[RunConfig]], resources: SlurmResources,
                 folder: Path) -> list[str]:
    """Submit every group as one task of one SLURM job array; returns the job ids."""
    executor = make_executor("slurm", folder, resources, groups[0][0])
    works = [GroupJob(group) for group in groups]
    with executor.batch():
        submitted = [executor.submit(work) for work in works]
    return [job.job_id for job in submitted]


def describe_jobs(groups: Sequence[Sequence[RunConfig]], kind: str,
                  resources: SlurmResources) -> str:
    """What ``sweep --dry-run`` prints: one line per job, then what each job asks for."""
    lines = [f"{len(groups)} jobs ({kind}):"]
    lines += [f"  [{index}] {GroupJob(group).describe()}" for index, group in enumerate(groups)]
    if kind == "slurm" and groups:
        parameters = resources.parameters(groups[0][0])
        lines.append(f"as one SLURM array --array=0-{len(groups) - 1}"
                     f"%{min(len(groups), resources.array_parallelism)}, each job: "
                     + ", ".join(f"{k}={v}" for k, v in parameters.items()
                                 if k != "slurm_array_parallelism"))
    return "\n".join(lines)


def _last_lines(text: str, count: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-count:])

"""Sweeps through submitit: each training group of a sweep as one job, started as a local
subprocess (``submitit-local``) or as a task of one SLURM job array (``slurm``).

A job runs :class:`GroupJob`: in the job's own process it claims the group's run keys
(benchmark/results/claims.py; a run done or claimed meanwhile is left alone) and calls the
same function ``python -m benchmark run`` calls (benchmark/run/in_process.py) with the
runs' :class:`RunConfig` objects, pickled by submitit, not re-parsed flags. Records go
through the results folder's staging area like any run's (benchmark/results/staging.py), so
a job killed at any point leaves no partial record, and the next sweep on the folder makes
only what has no ``ok`` record. A job that SLURM preempts or times out is checkpointed by
submitit (:meth:`GroupJob.checkpoint`) and re-queued once; its in-flight run restarts
from the beginning.

``submitit-local`` keeps ``jobs`` jobs at a time and waits for all of them. ``slurm``
submits one array (``--array=0-(n-1)%parallelism``) and returns: the jobs run on the
cluster while the sweep command is gone; running the same sweep again once they are done
lists their records and submits only what is still missing. Multi-process trainings ask
SLURM for ``devices`` tasks per node on ``num_nodes`` nodes, and Lightning joins them
(benchmark/run/distributed.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from benchmark.core import exit_codes
from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.core.ranks import is_secondary_rank
from benchmark.results.folder import ok_run_keys
from benchmark.run.record import write_failed_records
from benchmark.sweep.groups import GroupResult, SweepOutcome, claimed_group
from benchmark.sweep.settings import SlurmResources

REQUEUES = 1
"""How many times a preempted or timed-out job is re-queued by submitit."""

POLL_S = 0.5


class GroupJob:
    """One training group of a sweep (configs that differ only in their task), run inside a
    submitit job; ``threads``: the torch threads to compute with (None: the run's own
    choice, from the CPUs the job may use)."""

    def __init__(self, configs: Sequence[RunConfig], threads: int | None = None,
                 requeues_left: int = REQUEUES) -> None:
        self.configs = list(configs)
        self.threads = threads
        self.requeues_left = requeues_left

    def __call__(self) -> GroupResult:
        """In the job's process: claim the group's runs (benchmark/sweep/groups.py) and run
        those not done meanwhile as ``python -m benchmark run`` would."""
        from benchmark.run.in_process import run_in_process

        if self.threads is not None:
            os.environ["OMP_NUM_THREADS"] = str(self.threads)
        if is_secondary_rank():  # one task of a multi-process training: rank 0 claimed it
            run_in_process(self.configs)
            return GroupResult()
        with claimed_group(self.configs) as (result, _):
            if result.ran:
                try:
                    result.code = run_in_process(result.ran)
                except UserError as error:
                    write_failed_records(result.ran, str(error))
                    result.code = exit_codes.USER_ERROR
            return result

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


class SubmititLocalExecutor:
    """Every group as a submitit job on this machine, ``jobs`` at a time, each with
    ``threads`` torch threads and stopped after ``resources.time_min`` minutes; the sweep
    waits for all of them. A job that failed without its own record (killed, or its process
    crashed) gets a ``failed`` record for each of its runs still without an ``ok`` one, as a
    run process killed under the local executor does."""

    def __init__(self, jobs: int, threads: int | None, progress: bool,
                 resources: SlurmResources, folder: Path) -> None:
        self.jobs, self.threads, self.progress = jobs, threads, progress
        self.resources, self.folder = resources, folder

    def run(self, groups: Sequence[Sequence[RunConfig]], outcome: SweepOutcome) -> None:
        """Run every group and add what became of its runs to ``outcome``."""
        if not groups:
            return
        bar = tqdm(total=sum(len(group) for group in groups), desc="sweep", unit="run",
                   disable=not self.progress)
        try:
            failed_jobs = self._submit_and_wait(groups, outcome, bar)
        except KeyboardInterrupt:
            outcome.interrupted = True
            return
        finally:
            bar.close()
        for work, error in failed_jobs:
            done = ok_run_keys([work.configs[0].results_dir])
            unmade = [config for config in work.configs if config.run_key() not in done]
            write_failed_records(unmade, f"the submitit job failed:\n{error}")
            outcome.failed += [config.run_key() for config in unmade]

    def _submit_and_wait(self, groups: Sequence[Sequence[RunConfig]], outcome: SweepOutcome,
                         bar: tqdm) -> list[tuple[GroupJob, str]]:
        """Keep ``jobs`` jobs running until every group ran, counting each job's result as
        it ends; returns the jobs that failed themselves (killed, timed out, or their
        process crashed) with their error text."""
        executor = make_executor("submitit-local", self.folder, self.resources)
        queue = [GroupJob(group, self.threads) for group in groups]
        running: list[tuple[GroupJob, object]] = []
        failed_jobs = []
        try:
            while queue or running:
                while queue and len(running) < self.jobs:
                    work = queue.pop(0)
                    running.append((work, executor.submit(work)))
                time.sleep(POLL_S)
                for entry in [entry for entry in running if entry[1].done()]:
                    running.remove(entry)
                    work, job = entry
                    try:
                        outcome.add(job.result())
                    except Exception as error:  # submitit's FailedJobError, UncompletedJobError
                        failed_jobs.append((work, _last_lines(str(error))))
                    bar.update(len(work.configs))
        except KeyboardInterrupt:  # the jobs in flight stop too, without a record
            for _, job in running:
                job.cancel(check=False)
            raise
        return failed_jobs


class SlurmExecutor:
    """Every group as one task of one SLURM job array; submits and returns (the runs are
    counted as ``submitted``, with the array's job ids)."""

    def __init__(self, resources: SlurmResources, folder: Path) -> None:
        self.resources, self.folder = resources, folder

    def run(self, groups: Sequence[Sequence[RunConfig]], outcome: SweepOutcome) -> None:
        if not groups:
            return
        executor = make_executor("slurm", self.folder, self.resources, groups[0][0])
        works = [GroupJob(group) for group in groups]
        with executor.batch():
            submitted = [executor.submit(work) for work in works]
        outcome.job_ids = [job.job_id for job in submitted]
        outcome.submitted = [config.run_key() for group in groups for config in group]


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

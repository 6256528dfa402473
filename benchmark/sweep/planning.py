"""``python -m benchmark sweep``: methods x tasks x seeds, resumable and parallel.

The sweep plans and dispatches; executors run. :func:`plan` validates every (method, task,
seed) up front; :func:`run_sweep` drops the runs whose ``run_key`` (RunConfig.identity)
already has an ``ok`` record in the results folder (an unreadable record counts as not
done: the run is made again, the bad file left alone), so re-running an interrupted sweep
finishes only what is missing; appends the planned runs to the folder's plan file
(benchmark/results/sweep_plan.py); groups the rest into trainings (under ``--protocol
suite`` one per (method, seed), writing the records of all of that group's missing tasks;
benchmark/sweep/groups.py) and hands the groups to one executor:

- ``local`` (benchmark/sweep/local.py): each group its own ``python -m benchmark run``
  process, ``jobs`` at a time, each with ``usable CPUs // jobs`` threads (the CPUs the
  affinity mask allows, benchmark/core/threads.py; or the thread count a drift check's
  baseline was made with);
- ``submitit-local`` and ``slurm`` (benchmark/sweep/cluster.py): each group a submitit job.

Every executor claims a group's runs before it starts them (a run claimed by another
process is skipped as "running elsewhere", with no record) and writes a ``failed`` record
for a run that failed without writing its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmark.core.config import RunConfig
from benchmark.core.errors import RefusedTask
from benchmark.core.tasks import Task
from benchmark.core.threads import usable_cpus
from benchmark.profiles import Profile
from benchmark.results.folder import ok_run_keys, prepare, print_warnings, read_runs
from benchmark.results.records import RunRecord
from benchmark.results.sweep_plan import append_plan
from benchmark.run.resolution import dataset_key, resolve
from benchmark.sweep.cluster import SlurmExecutor, SubmititLocalExecutor, describe_jobs
from benchmark.sweep.groups import SweepOutcome, training_groups
from benchmark.sweep.local import LocalExecutor
from benchmark.sweep.settings import JOBS_FOLDER, SlurmResources


def plan(methods: Sequence[str], tasks: Sequence[str], seeds: Sequence[int],
         **settings) -> tuple[list[RunConfig], list[str]]:
    """Every (method, task, seed) as a RunConfig, validated up front (cheap: meta device).

    Returns (runnable configs, refusals as one line each). Bad names or settings raise a
    UserError before anything runs. A dataset folder's content key (RunConfig.dataset_key)
    is computed once, here.
    """
    configs, refused = [], []
    if settings.get("dataset") is not None:
        settings = {**settings, "dataset_key": dataset_key(settings["dataset"])}
    for method in methods:
        for task in tasks:
            for seed in seeds:
                config = RunConfig(method=method, task=task, seed=seed, progress=False,
                                   **settings)
                try:
                    resolve(config)
                except RefusedTask as refusal:
                    refused.append(str(refusal))
                    break
                configs.append(config)
    return configs, refused


def completed_keys(results_dir: Path) -> set[str]:
    """``run_key`` of every ``ok`` record in ``results_dir``."""
    return ok_run_keys([results_dir])


def completed_records(configs: Sequence[RunConfig]) -> list[RunRecord]:
    """The ``ok`` records of ``configs`` found in their results folders, one per run
    (benchmark/results/folder.py); the files skipped on the way are named on stderr."""
    keys = {config.run_key() for config in configs}
    records = []
    for folder in sorted({config.results_dir for config in configs}):
        runs = read_runs(folder)
        print_warnings(runs)
        records += [record for record in runs.records if record.run_key in keys]
    return records


def threads_per_run(jobs: int, threads: int | None = None) -> int:
    """Torch threads each run of a sweep computes with: ``threads`` when given (``check``
    passes its baseline's, so the numbers do not depend on the machine's core count), else
    the CPUs this process may use (its affinity mask, as for a plain run) shared among the
    ``jobs`` runs at a time."""
    return threads or max(1, usable_cpus() // jobs)


def build_caches(configs: Sequence[RunConfig], progress: bool) -> None:
    """Build each profile's (and dataset's) caches once, in this process, before parallel
    runs start, with the judges that the configs' tasks read: runs started together would
    otherwise each build the same caches at once, each with the fixed cache-build thread
    count (benchmark/core/threads.py), more threads than cores."""
    from benchmark.run.preparation import prepare_inputs

    profiles: dict[tuple[str, str], tuple[Profile, list[Task]]] = {}
    for config in configs:
        profile = resolve(config).profile
        profiles.setdefault((profile.name, repr(profile)), (profile, []))[1].append(config.task)
    for profile, tasks in profiles.values():
        prepare_inputs(profile, progress=progress, tasks=tasks)


def run_sweep(configs: Sequence[RunConfig], jobs: int = 1,
              progress: bool = True, threads: int | None = None, executor: str = "local",
              resources: SlurmResources | None = None, dry_run: bool = False) -> SweepOutcome:
    """Run every config not yet done, ``jobs`` trainings at a time, each with
    :func:`threads_per_run` threads (see the module doc), through ``executor``.
    ``dry_run``: print the runs or jobs that would start, and start none."""
    resources = resources or SlurmResources()
    outcome = SweepOutcome()
    # a run given twice (a seed or task repeated) is one run
    configs = list({(config.run_key(), config.results_dir): config
                    for config in configs}.values())
    folders = sorted({config.results_dir for config in configs})
    for folder in folders:
        prepare(folder)
    done_keys = ok_run_keys(folders)
    outcome.skipped = [config.run_key() for config in configs if config.run_key() in done_keys]
    pending = [config for config in configs if config.run_key() not in done_keys]
    groups = training_groups(pending)
    if dry_run:
        print(describe_jobs(groups, executor, resources) if groups
              else "nothing to run: every planned run has an ok record")
        return outcome
    append_plan(configs)
    if groups and (executor == "slurm" or (jobs > 1 and len(groups) > 1)):
        build_caches(pending, progress)
    _executor(executor, jobs, threads_per_run(jobs, threads), progress, resources,
              folders[0] if folders else Path()).run(groups, outcome)
    return outcome


def _executor(kind: str, jobs: int, threads: int, progress: bool, resources: SlurmResources,
              folder: Path) -> LocalExecutor | SubmititLocalExecutor | SlurmExecutor:
    """The executor ``kind`` names (benchmark/sweep/settings.py ``EXECUTORS``); submitit
    keeps its job files under ``folder``'s :data:`JOBS_FOLDER`."""
    if kind == "slurm":
        return SlurmExecutor(resources, folder / JOBS_FOLDER)
    if kind == "submitit-local":
        return SubmititLocalExecutor(jobs, threads, progress, resources, folder / JOBS_FOLDER)
    return LocalExecutor(jobs, threads, progress)

"""``python -m benchmark sweep``: methods x tasks x seeds, resumable and parallel.

Each run is its own ``python -m benchmark run`` process (a crash or an out-of-memory kill
takes only that run down), ``jobs`` at a time, each with ``cpu_count // jobs`` threads
(or the thread count a drift check's baseline was made with).
Under ``--protocol suite`` one process per (method, seed) trains once and writes the
records of all of that group's missing tasks.
Interrupting the sweep (Ctrl-C, SIGINT or SIGTERM) stops the runs in flight without a
record.
A run whose ``run_key`` (RunConfig.identity) already has an ``ok`` record in the results
folder is skipped, so re-running an interrupted sweep finishes only what is missing (an
unreadable record counts as not done: the run is made again, the bad file left alone).
Before starting a run the sweep claims its ``run_key`` (benchmark/run_claims.py) and hands
the claim to the run's process; a run claimed by another process (an identical sweep or
``run`` on the same folder) is skipped as "running elsewhere", with no record. A run that
fails gets a ``failed`` record and the sweep goes on: the run process writes it itself
when it fails (exit status 3, benchmark/core/exit_codes.py); the sweep writes it when
the process could not: a user error (status 2, its one-line message), a kill by a signal
(out of memory) or any other status. The planned runs are appended to the folder's plan
file first (benchmark/sweep_plan.py).
That is the ``local`` executor; ``submitit-local`` and ``slurm`` run each training group
as a submitit job instead (benchmark/cluster.py), with the same resuming and records.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from benchmark.cluster import (
    JOBS_FOLDER,
    GroupJob,
    SlurmResources,
    describe_jobs,
    submit_and_wait,
    submit_array,
)
from benchmark.core import exit_codes
from benchmark.core.config import DISTRIBUTED_DEFAULTS, RunConfig
from benchmark.core.errors import RefusedTask
from benchmark.core.tasks import Task
from benchmark.core.threads import usable_cpus
from benchmark.profiles import Profile
from benchmark.records import RunRecord, failed_record, write_record
from benchmark.resolution import resolve
from benchmark.results_folder import ok_run_keys, prepare, print_warnings, read_runs
from benchmark.run_claims import handed_down, try_claim
from benchmark.sweep_plan import append_plan


@dataclass
class SweepOutcome:
    """Run keys by outcome (``elsewhere``: claimed by another process, not run here;
    ``submitted``: handed to SLURM, with the ``job_ids`` of its jobs), plus whether the
    sweep (or one of its runs) was interrupted."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    interrupted: bool = False
    submitted: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)

    def count(self, code: int | None, ran: list[str], stopped: bool = False) -> None:
        """Add the runs ``ran`` of one process or job that ended with exit status ``code``
        (None: nothing was started); ``stopped``: the sweep was being interrupted."""
        if code == exit_codes.OK:
            self.done += ran
        elif code == exit_codes.INTERRUPTED or stopped:
            self.interrupted = self.interrupted or bool(ran)
        elif code is not None:
            self.failed += ran


def plan(methods: Sequence[str], tasks: Sequence[str], seeds: Sequence[int],
         **settings) -> tuple[list[RunConfig], list[str]]:
    """Every (method, task, seed) as a RunConfig, validated up front (cheap: meta device).

    Returns (runnable configs, refusals as one line each). Bad names or settings raise a
    UserError before anything runs.
    """
    configs, refused = [], []
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
    (benchmark/results_folder.py); the files skipped on the way are named on stderr."""
    keys = {config.run_key() for config in configs}
    records = []
    for folder in sorted({config.results_dir for config in configs}):
        runs = read_runs(folder)
        print_warnings(runs)
        records += [record for record in runs.records if record.run_key in keys]
    return records


def _command(group: Sequence[RunConfig]) -> list[str]:
    """The ``run`` command line of a group of configs that differ only in their task."""
    config = group[0]
    command = [sys.executable, "-m", "benchmark", "run", "--method", config.method,
               "--task", ",".join(c.task.name for c in group), "--seed", str(config.seed),
               "--preset", config.preset, "--profile", config.profile,
               "--evaluator", config.evaluator, "--protocol", config.protocol,
               "--results", str(config.results_dir), "--no-progress", "--logger", config.logger]
    for flag, value in (("--dataset", config.dataset), ("--steps", config.steps),
                        ("--budget", config.budget),
                        ("--sampling-steps", config.sampling_steps),
                        ("--guidance", config.guidance), ("--weights", config.weights)):
        if value is not None:
            command += [flag, str(value)]
    for metric in config.metrics:
        command += ["--metric", metric]
    for name, default in DISTRIBUTED_DEFAULTS.items():
        if getattr(config, name) != default:
            command += [f"--{name.replace('_', '-')}", str(getattr(config, name))]
    return command


def _groups(configs: Sequence[RunConfig]) -> list[list[RunConfig]]:
    """One group per training: each config alone, or under the suite protocol every
    config that differs only in its task."""
    groups: dict[tuple[str, Path], list[RunConfig]] = {}
    for config in configs:
        key = config.training_key() if config.protocol == "suite" else config.run_key()
        groups.setdefault((key, config.results_dir), []).append(config)
    return list(groups.values())


@dataclass
class GroupResult:
    """What became of one group of runs: the configs whose process ran and its exit status
    (None: no process was started), and those found done or claimed elsewhere meanwhile."""

    ran: list[RunConfig] = field(default_factory=list)
    code: int | None = None
    done_meanwhile: list[RunConfig] = field(default_factory=list)
    elsewhere: list[RunConfig] = field(default_factory=list)


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
    from benchmark.preparation import prepare_inputs

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
    :func:`threads_per_run` threads (see the module doc), as this sweep's own processes or
    as submitit jobs (``executor``, benchmark/cluster.py). ``dry_run``: print the runs or
    jobs that would start, and start none."""
    outcome = SweepOutcome()
    # a run given twice (a seed or task repeated) is one run
    configs = list({(config.run_key(), config.results_dir): config
                    for config in configs}.values())
    folders = sorted({config.results_dir for config in configs})
    for folder in folders:
        prepare(folder)
    done_keys = ok_run_keys(folders)
    pending = []
    for config in configs:
        if config.run_key() in done_keys:
            outcome.skipped.append(config.run_key())
        else:
            pending.append(config)
    groups = _groups(pending)
    if dry_run:
        print(describe_jobs(groups, executor, resources or SlurmResources()) if groups
              else "nothing to run: every planned run has an ok record")
        return outcome
    append_plan(configs)
    if groups and (executor == "slurm" or (jobs > 1 and len(groups) > 1)):
        build_caches(pending, progress)
    if executor == "slurm":
        if groups:
            outcome.job_ids = submit_array(groups, resources or SlurmResources(),
                                           folders[0] / JOBS_FOLDER)
            outcome.submitted = [config.run_key() for config in pending]
        return outcome
    if executor == "submitit-local":
        return _run_submitit_local(groups, jobs, threads_per_run(jobs, threads), progress,
                                   resources or SlurmResources(), outcome)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads_per_run(jobs, threads))}
    stop = threading.Event()
    running: set[subprocess.Popen] = set()
    lock = threading.Lock()

    def execute(group: list[RunConfig]) -> GroupResult:
        """Claim the group's runs, start a process for those not done meanwhile, and
        record its failure if the process could not."""
        result, claims = GroupResult(), []
        try:
            for config in group:
                claim = try_claim(config.results_dir, config.run_key())
                (result.elsewhere.append(config) if claim is None
                 else claims.append((config, claim)))
            done_now = ok_run_keys([group[0].results_dir]) if claims else set()
            for config, _ in claims:
                (result.done_meanwhile if config.run_key() in done_now else result.ran
                 ).append(config)
            if not result.ran:
                return result
            held = [claim for config, claim in claims if config in result.ran]
            with lock:
                if stop.is_set():
                    result.ran = []
                    return result
                process = subprocess.Popen(
                    _command(result.ran), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    text=True, env={**env, **handed_down(held)},
                    pass_fds=[claim.fd for claim in held])
                running.add(process)
            _, stderr = process.communicate()
            with lock:
                running.discard(process)
            result.code = process.returncode
            error = _unrecorded_failure(result.code, stderr)
            if error is not None and not stop.is_set():
                for config in result.ran:
                    write_record(failed_record(config, error), config.results_dir)
            return result
        finally:
            for _, claim in claims:
                claim.release()

    previous_sigterm = (signal.signal(signal.SIGTERM, _interrupt)
                        if threading.current_thread() is threading.main_thread() else None)
    bar = tqdm(total=len(pending), desc="sweep", unit="run", disable=not progress)
    bar.set_postfix(skipped=len(outcome.skipped))
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(execute, group): group for group in _groups(pending)}
        for future in as_completed(futures):
            result = future.result()
            outcome.skipped += [config.run_key() for config in result.done_meanwhile]
            outcome.elsewhere += [config.run_key() for config in result.elsewhere]
            outcome.count(result.code, [config.run_key() for config in result.ran],
                          stopped=stop.is_set())
            bar.update(len(futures[future]))
            bar.set_postfix(done=len(outcome.done), failed=len(outcome.failed),
                            skipped=len(outcome.skipped), elsewhere=len(outcome.elsewhere))
    except KeyboardInterrupt:
        # Stop the runs in flight too (a terminal's Ctrl-C reaches them anyway; a signal
        # sent to the sweep alone would not): each exits without writing a record. SIGTERM,
        # because runs started from a background shell inherit an ignored SIGINT.
        with lock:
            stop.set()
            for process in running:
                process.terminate()
        outcome.interrupted = True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)
    return outcome


def _run_submitit_local(groups: list[list[RunConfig]], jobs: int, threads: int,
                        progress: bool, resources: SlurmResources,
                        outcome: SweepOutcome) -> SweepOutcome:
    """Run ``groups`` as submitit jobs on this machine, ``jobs`` at a time, and add what
    became of each run to ``outcome``. A job that failed without its own record (killed,
    or its process crashed) gets a ``failed`` record for each of its runs still without an
    ``ok`` one, as a run process killed under the local executor does."""
    bar = tqdm(total=sum(len(group) for group in groups), desc="sweep", unit="run",
               disable=not progress)

    def update(work: GroupJob, result: dict | None) -> None:
        bar.update(len(work.configs))
        if result is None:
            return
        outcome.skipped += result["done_meanwhile"]
        outcome.elsewhere += result["elsewhere"]
        outcome.count(result["code"], result["ran"])

    try:
        finished = submit_and_wait(groups, jobs, threads, update,
                                   groups[0][0].results_dir / JOBS_FOLDER,
                                   resources) if groups else []
    except KeyboardInterrupt:
        outcome.interrupted = True
        return outcome
    finally:
        bar.close()
    for work, result, error in finished:
        if result is not None:
            continue
        done = ok_run_keys([work.configs[0].results_dir])
        for config in work.configs:
            if config.run_key() not in done:
                write_record(failed_record(config, f"the submitit job failed:\n{error}"),
                             config.results_dir)
                outcome.failed.append(config.run_key())
    return outcome


def _unrecorded_failure(code: int, stderr: str) -> str | None:
    """The error text of the ``failed`` record the sweep must write for a run process that
    ended with status ``code``, or None when there is none to write: the run succeeded,
    wrote its own failed record (RUN_FAILED) or was interrupted."""
    if code in (exit_codes.OK, exit_codes.RUN_FAILED, exit_codes.INTERRUPTED):
        return None
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if code == exit_codes.USER_ERROR:
        return lines[-1] if lines else "the run refused its settings (exit status 2)"
    if code < 0:
        cause = ": most often the out-of-memory killer" if -code == signal.SIGKILL else ""
        lines.append(f"the run process was killed by signal {-code} "
                     f"({signal.strsignal(-code)}){cause}")
    else:
        lines.append(f"the run process exited with status {code}")
    return "\n".join(lines[-20:])


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM handler: stop the sweep the way Ctrl-C does."""
    raise KeyboardInterrupt

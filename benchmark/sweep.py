"""``python -m benchmark sweep``: methods x tasks x seeds, resumable and parallel.

Each run is its own ``python -m benchmark run`` process (a crash or an out-of-memory kill
takes only that run down), ``jobs`` at a time, each with ``cpu_count // jobs`` threads.
Under ``--protocol suite`` one process per (method, seed) trains once and writes the
records of all of that group's missing tasks.
Interrupting the sweep (Ctrl-C, SIGINT or SIGTERM) stops the runs in flight without a
record.
A run whose ``run_key`` (RunConfig.identity) already has an ``ok`` record in the results
folder is skipped, so re-running an interrupted sweep finishes only what is missing. A
run that fails gets a ``failed`` record with its error, and the sweep goes on. The
planned runs are appended to the folder's plan file first (benchmark/sweep_plan.py).
"""

from __future__ import annotations

import json
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

from benchmark.core.config import RunConfig
from benchmark.core.errors import RefusedTask
from benchmark.records import RunRecord, provenance, read_record, write_record
from benchmark.resolution import resolve
from benchmark.sweep_plan import append_plan


@dataclass
class SweepOutcome:
    """Run keys by outcome, plus the runs refused up front (method cannot serve the task)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    interrupted: bool = False


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
    keys = set()
    for path in results_dir.glob("*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if record.get("status") == "ok" and record.get("run_key"):
            keys.add(record["run_key"])
    return keys


def completed_records(configs: Sequence[RunConfig]) -> list[RunRecord]:
    """The ``ok`` records of ``configs`` found in their results folders."""
    keys = {config.run_key() for config in configs}
    folders = sorted({config.results_dir for config in configs})
    return [record for folder in folders
            for record in map(read_record, sorted(folder.glob("*.json")))
            if record.run_key in keys and record.status == "ok"]


def _command(group: Sequence[RunConfig]) -> list[str]:
    """The ``run`` command line of a group of configs that differ only in their task."""
    config = group[0]
    command = [sys.executable, "-m", "benchmark", "run", "--method", config.method,
               "--task", ",".join(c.task.name for c in group), "--seed", str(config.seed),
               "--preset", config.preset, "--profile", config.profile,
               "--evaluator", config.evaluator, "--protocol", config.protocol,
               "--results", str(config.results_dir), "--no-progress"]
    for flag, value in (("--dataset", config.dataset), ("--steps", config.steps),
                        ("--budget", config.budget),
                        ("--sampling-steps", config.sampling_steps),
                        ("--guidance", config.guidance), ("--weights", config.weights)):
        if value is not None:
            command += [flag, str(value)]
    for metric in config.metrics:
        command += ["--metric", metric]
    return command


def _failed_record(config: RunConfig, error: str) -> RunRecord:
    from benchmark.core.cache import config_hash

    identity = config.identity()
    return RunRecord(
        run_id=config.new_run_id("failed"),
        method=config.method, task=identity["task"], dataset=_dataset_label(config),
        preset=config.preset, seed=config.seed, status="failed", budget={}, params={},
        timing={}, sampling={}, metrics={}, references={}, judges={},
        config={"run": identity}, provenance=provenance(config_hash(identity)),
        error=error, run_key=config.run_key(),
    )


def _dataset_label(config: RunConfig) -> str:
    """``<dataset>:<profile>`` as the run's own record would say it: the dataset by its
    factory's ``name`` (a plug-in's too), without building the dataset."""
    from benchmark.data import DATASETS
    from benchmark.profiles import PROFILES

    profile = PROFILES.get(config.profile).with_dataset(config.dataset)
    factory = DATASETS.get(profile.dataset)
    return f"{getattr(factory, 'name', profile.dataset)}:{profile.name}"


def _groups(configs: Sequence[RunConfig]) -> list[list[RunConfig]]:
    """One group per training: each config alone, or under the suite protocol every
    config that differs only in its task."""
    groups: dict[tuple[str, Path], list[RunConfig]] = {}
    for config in configs:
        key = config.training_key() if config.protocol == "suite" else config.run_key()
        groups.setdefault((key, config.results_dir), []).append(config)
    return list(groups.values())


def run_sweep(configs: Sequence[RunConfig], jobs: int = 1,
              progress: bool = True) -> SweepOutcome:
    """Run every config not yet done, ``jobs`` trainings at a time (see the module doc)."""
    outcome = SweepOutcome()
    append_plan(configs)
    folders = {config.results_dir for config in configs}
    done_keys = set().union(*(completed_keys(folder) for folder in folders))
    pending = []
    for config in configs:
        if config.run_key() in done_keys:
            outcome.skipped.append(config.run_key())
        else:
            pending.append(config)
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // jobs))}
    stop = threading.Event()
    running: set[subprocess.Popen] = set()
    lock = threading.Lock()

    def execute(group: list[RunConfig]) -> tuple[list[RunConfig], int, str]:
        with lock:
            if stop.is_set():
                return group, -1, "not started"
            process = subprocess.Popen(_command(group), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True, env=env)
            running.add(process)
        _, stderr = process.communicate()
        with lock:
            running.discard(process)
        return group, process.returncode, stderr

    previous_sigterm = (signal.signal(signal.SIGTERM, _interrupt)
                        if threading.current_thread() is threading.main_thread() else None)
    bar = tqdm(total=len(pending), desc="sweep", unit="run", disable=not progress)
    bar.set_postfix(skipped=len(outcome.skipped))
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(execute, group) for group in _groups(pending)]
        for future in as_completed(futures):
            group, code, stderr = future.result()
            if code == 0:
                outcome.done += [config.run_key() for config in group]
            elif code > 0 and code != 130 and not stop.is_set():
                lines = [line for line in stderr.strip().splitlines() if line.strip()]
                for config in group:
                    write_record(_failed_record(config, "\n".join(lines[-20:])),
                                 config.results_dir)
                    outcome.failed.append(config.run_key())
            bar.update(len(group))
            bar.set_postfix(done=len(outcome.done), failed=len(outcome.failed),
                            skipped=len(outcome.skipped))
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


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM handler: stop the sweep the way Ctrl-C does."""
    raise KeyboardInterrupt

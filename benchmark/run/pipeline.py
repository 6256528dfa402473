"""One benchmark run, following the pipeline of DESIGN §1:

    dataset -> backbone.encode (cached) -> method.fit -> method.generate
            -> backbone.decode -> judges -> RunRecord

:func:`run_tasks` prepares the inputs (benchmark/run/preparation.py), trains once
(benchmark/run/training.py), evaluates each task (benchmark/scoring/task_evaluation.py)
and writes its record (benchmark/run/record.py) with its files through a staging folder
(benchmark/results/staging.py). Every stage reads only what the previous one produced;
the dataset, backbones, judges and embeddings are cached under keys that hash their full
configuration.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.media_split import MediaSplit
from benchmark.core.ranks import is_secondary_rank
from benchmark.core.stage_clock import process_age_s
from benchmark.core.tasks import Task
from benchmark.core.threads import load_average
from benchmark.data.dataset import Dataset
from benchmark.results.records import (
    RunRecord,
    write_features,
    write_per_sample,
    write_record,
    write_samples,
)
from benchmark.results.staging import Staging, staging
from benchmark.run.preparation import prepare_inputs
from benchmark.run.record import ok_record
from benchmark.run.resolution import ResolvedRun, content_id, resolve
from benchmark.run.training import TrainedMethod, quiet_lightning, train_method
from benchmark.run.training_log import log_file
from benchmark.scoring.sampling import gallery_samples
from benchmark.scoring.task_evaluation import build_evaluators, evaluate_task
from metrics.evaluators.evaluator_set import Evaluators


def run_tasks(configs: Sequence[RunConfig]) -> list[tuple[RunRecord, Path]]:
    """Train once and write one record per config's task.

    The configs may differ only in their task. Under ``protocol="task"`` there is exactly
    one; under ``protocol="suite"`` the method is built to serve every task it supports
    and trained once, and each listed task is evaluated from that one model. The training
    log is written to ``<results>/logs/<the first record's run_id>/`` and every record
    names it. Files reach the results folder through a staging folder, each record after
    its files and the log with the first record (benchmark/results/staging.py). A secondary rank
    of a multi-process training (benchmark/run/distributed.py) only trains and returns no
    records.
    """
    load_at_start = load_average()
    clock = {"start_s": process_age_s()}
    first = configs[0]
    if any(c.with_task(first.task) != first for c in configs):
        raise ValueError("configs trained together may differ only in their task")
    if first.protocol == "task" and len(configs) > 1:
        raise UserError("--protocol task trains one model per task: give one --task, or "
                        "use --protocol suite (or `sweep`)")
    resolved_runs = [resolve(config) for config in configs]
    quiet_lightning()
    preparing = time.perf_counter()
    inputs = prepare_inputs(resolved_runs[0].profile, progress=first.progress,
                            tasks=[config.task for config in configs])
    configs = keyed_by_content(configs, inputs.dataset)
    for config in configs:
        require_test_modalities(config.task, inputs.splits["test"],
                                inputs.dataset.settings().get("path", inputs.dataset.name))
    if is_secondary_rank():  # trains its share; rank 0 evaluates and writes (distributed.py)
        with tempfile.TemporaryDirectory(prefix="anybench-rank-") as log_dir:
            train_method(first, resolved_runs[0], inputs, Path(log_dir))
        return []
    evaluators = build_evaluators(first, inputs)
    clock["prepare_s"] = round(time.perf_counter() - preparing, 3)
    run_ids = [config.new_run_id() for config in configs]
    # Everything is written into a staging folder and published record by record, the
    # record last (benchmark/results/staging.py): a killed run leaves nothing half-written.
    with staging(first.results_dir, run_ids[0]) as area:
        log_name = f"logs/{run_ids[0]}"
        log_dir = area.folder / log_name
        trained = train_method(first, resolved_runs[0], inputs, log_dir)
        training_log = log_file(log_dir).relative_to(area.folder).as_posix()
        return [_record_task(config, resolved, trained, inputs, evaluators, run_id,
                             training_log, area, [log_name] if index == 0 else [],
                             load_at_start, clock)
                for index, (config, resolved, run_id)
                in enumerate(zip(configs, resolved_runs, run_ids, strict=True))]


def keyed_by_content(configs: Sequence[RunConfig], dataset: Dataset) -> list[RunConfig]:
    """``configs`` with the content of the dataset folder they run on as their
    ``dataset_key`` (the run key holds it, RunConfig.identity): set here where the caller
    left it unset; a UserError where the folder changed since it was set (the runs were
    planned, and claimed, on other content)."""
    first = configs[0]
    if first.dataset is None or "path" not in dataset.settings():
        return list(configs)
    key = content_id(dataset)
    if first.dataset_key is None:
        return [replace(config, dataset_key=key) for config in configs]
    if first.dataset_key != key:
        raise UserError(f"the dataset folder {dataset.settings()['path']} changed since these "
                        f"runs were planned on it (content {first.dataset_key}, now {key}): "
                        "run them again to plan them on its new content")
    return list(configs)


def require_test_modalities(task: Task, test: MediaSplit | FeatureSplit, where: str) -> None:
    """Every test item must hold each modality ``task`` reads, passes through (a round
    trip's middle) or generates: the scores compare each item's outputs with its own real
    target and sources."""
    from benchmark.data.manifest import BadData

    for modality in task.modalities:
        lacking = np.flatnonzero(~test.has(modality))
        if len(lacking):
            problem = f"test items without {modality}, which {task.name} needs"
            if test.item_lines is None:
                problem = f"{len(lacking)} {problem}"
            lines = [] if test.item_lines is None else test.item_lines[lacking].tolist()
            raise BadData(Path(where), problem, lines,
                          f"give every test item {modality}, or run tasks without it")


def _record_task(config: RunConfig, resolved_run: ResolvedRun, trained: TrainedMethod, inputs,
                 evaluators: Evaluators, run_id: str, training_log: str, area: Staging,
                 staged_with: Sequence[str], load_at_start: list[float],
                 clock: dict[str, float | None]) -> tuple[RunRecord, Path]:
    """Evaluate ``config``'s task from the trained method, write its record ``run_id`` with
    its per-item scores, features and gallery samples into the staging ``area`` and publish
    them, the record last, together with the staged ``staged_with`` (the training log
    folder, with a training's first record); ``training_log`` is the training's log file,
    relative to the results folder; ``load_at_start`` the machine's load averages when the
    run started; ``clock`` the process's age when the run started (``start_s``) and the
    seconds its inputs and evaluators took to load or build (``prepare_s``), to which the
    process's age when the record is made is added (``recorded_at_s``)."""
    evaluated = evaluate_task(config, trained.method, trained.meter.checkpoints, inputs,
                              evaluators, resolved_run.metrics, resolved_run.profile)
    scores, references = evaluated.scores, evaluated.references
    per_sample = {
        f"{row}/{name}": value.per_sample
        for row, values in [("generated", scores.values), ("oracle", references.oracle),
                            ("chance", references.chance), ("real", references.ceilings)]
        for name, value in values.items() if value.per_sample is not None
    }
    per_sample_path = write_per_sample(run_id, per_sample, area.folder)
    features_path, features = write_features(
        run_id, {name: value.features for name, value in scores.values.items()
                 if value.features is not None}, area.folder, area.results_dir)
    samples_path = write_samples(
        run_id, gallery_samples(config.task, inputs.splits["test"], evaluated.decoded),
        area.folder)
    files = {"per_sample_file": per_sample_path.name, "samples_file": samples_path.name,
             "features_file": features_path.name, "features": features,
             "training_log": training_log}
    record = ok_record(config, resolved_run, trained, evaluated, inputs, run_id, files,
                       load_at_start, {**clock, "recorded_at_s": process_age_s()})
    staged = write_record(record, area.folder)
    return record, area.publish(staged.name, [per_sample_path.name, samples_path.name,
                                              features_path.name, *staged_with])

"""Building a run's record: the ``ok`` one from what a trained and scored run measured
(:func:`ok_record`), the ``failed`` one from the error that ended it (:func:`failed_record`,
written by :func:`write_failed_records`, the one way every caller writes them), and the
provenance both carry. The schema and the files are benchmark/results/records.py's.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.core.cache import config_hash
from benchmark.core.config import RunConfig
from benchmark.core.modalities import MODALITIES
from benchmark.results.records import RunRecord, write_record
from benchmark.scoring.efficiency import peak_memory_mb

if TYPE_CHECKING:
    from benchmark.core.feature_split import FeatureSplit
    from benchmark.core.media_split import MediaSplit
    from benchmark.data.dataset import Dataset
    from benchmark.run.resolution import ResolvedRun
    from benchmark.run.training import TrainedMethod
    from benchmark.scoring.sampling import Evaluated
    from metrics.value import MetricValue


def metric_dicts(values: Mapping[str, MetricValue]) -> dict[str, dict]:
    """A record's form of metric values: ``{id: {value, n, ci_low, ci_high, ...}}``."""
    return {name: value.to_dict() for name, value in values.items()}


def ok_record(config: RunConfig, resolved_run: ResolvedRun, trained: TrainedMethod,
              evaluated: Evaluated, inputs, run_id: str, files: Mapping[str, Any],
              load_at_start: list[float], process_clock: Mapping[str, float | None]
              ) -> RunRecord:
    """The ``ok`` record ``run_id`` of ``config``'s task: its budget and what training used
    of it, parameter counts, timings, sampling, the generated row's metrics and the
    reference rows, the resolved settings and provenance. ``files`` names what the run
    wrote beside it: ``per_sample_file``, ``samples_file``, ``features_file``,
    ``features`` (the set metrics' feature index) and ``training_log`` (relative to the
    results folder); ``load_at_start`` the machine's load averages when the run started;
    ``process_clock`` the process-level times (``start_s``: the process's age when the run
    began, its imports and checks; ``prepare_s``: loading or building the data, backbones,
    judges and embeddings; ``recorded_at_s``: its age when this record was made), so that
    everything outside training is ``recorded_at_s - train_s``."""
    profile, method, meter = resolved_run.profile, trained.method, trained.meter
    scores, references = evaluated.scores, evaluated.references
    items = len(inputs.splits["test"])
    resolved = {
        "run": config.to_dict(),
        "profile": profile.name,
        "dataset": dataset_config(inputs.dataset, inputs.splits),
        "backbones": asdict(profile.backbones),
        "judges": asdict(profile.judges),
        "contrastive_judges": asdict(profile.contrastive),
        "method": asdict(method.config),
    }
    train_s = meter.seconds
    return RunRecord(
        run_id=run_id,
        method=config.method,
        task=config.task.name,
        dataset=f"{inputs.dataset.name}:{profile.name}",
        preset=config.preset,
        seed=config.seed,
        status="ok",
        budget={"kind": trained.budget.kind, "value": trained.budget.value,
                "used": meter.spent(), **meter.figures(), "flops_per_step": meter.flops_per_step,
                "skipped_batches": method.skipped_batches, "batch_size": trained.batch_size,
                "world_size": trained.engine["world_size"],
                "global_batch": trained.batch_size * trained.engine["world_size"]},
        params=run_parameters(config, resolved_run, trained),
        timing={
            "train_s": round(train_s, 3),
            **{name: seconds if name == "stages" else round(seconds, 3)
               for name, seconds in evaluated.timing.items()},
            "samples_per_s": round(meter.samples / train_s, 1),
            "train_flops_per_s": round(meter.flops / train_s),
            "sample_ms_per_item": round(1000 * evaluated.timing["sample_s"] / items, 4),
            "nfe_per_item": evaluated.nfe,
            **process_clock,
            **peak_memory_mb(),
        },
        sampling={"steps": evaluated.sampling.steps, "guidance": evaluated.sampling.guidance,
                  "n": items},
        metrics=metric_dicts(scores.values),
        references={"oracle": metric_dicts(references.oracle),
                    "chance": metric_dicts(references.chance)},
        judges=metric_dicts(references.ceilings),
        skipped_metrics={**scores.skipped, **references.skipped},
        config=resolved,
        provenance=provenance(config_hash(resolved), load_at_start),
        flops=meter.flops,
        per_sample_file=files["per_sample_file"],
        samples_file=files["samples_file"],
        features_file=files["features_file"],
        features=files["features"],
        run_key=config.run_key(),
        curve=evaluated.curve,
        training_log=files["training_log"],
        protocol=config.protocol,
        extra={"single_stage": method.single_stage},
        distributed=trained.engine,
    )


def suite_parameter_counts(
    method_cls: type, dims: dict[str, int], preset: str, overrides: dict
) -> dict[str, int]:
    """Parameters of an instance built to serve every task it supports (on the meta
    device, nothing allocated): all it trains, and what serving that suite needs."""
    import torch

    from benchmark.core.tasks import all_tasks

    with torch.device("meta"):
        model = method_cls(dims, preset=preset, **overrides)
    suite = [t for t in all_tasks() if model.supports(t)]
    return {
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "serve": model.parameter_count(suite),
        "tasks": len(suite),
    }


def run_parameters(config: RunConfig, resolved_run: ResolvedRun, trained: TrainedMethod
                   ) -> dict[str, int | None]:
    """Trainable parameters of this run, what serving its task and the whole suite takes,
    and the same for the method's ``paper`` preset where it has one (None otherwise)."""
    method_cls, method = resolved_run.method_cls, trained.method
    suite = suite_parameter_counts(method_cls, trained.dims, config.preset,
                                   resolved_run.overrides)
    paper = (suite_parameter_counts(method_cls, dict(method_cls.paper_embedding_dims), "paper", {})
             if "paper" in method_cls.presets else {"trainable": None, "serve": None})
    return {
        "trainable": sum(p.numel() for p in method.parameters() if p.requires_grad),
        "serve_task": method.parameter_count([config.task]),
        "serve_suite": suite["serve"],
        "suite_tasks": suite["tasks"],
        "suite_trainable": suite["trainable"],
        "paper_preset_trainable": paper["trainable"],
        "paper_preset_serve_suite": paper["serve"],
    }


def write_failed_records(configs: Sequence[RunConfig], error: str) -> list[Path]:
    """Write a ``failed`` record (:func:`failed_record`) for each of ``configs`` into its
    results folder; returns their paths. Every place that records a failure comes here."""
    return [write_record(failed_record(config, error), config.results_dir)
            for config in configs]


def failed_record(config: RunConfig, error: str) -> RunRecord:
    """The ``failed`` record of a run of ``config`` that ended with ``error`` (its text: the
    exception's last traceback lines, or what a sweep saw of a run process that died);
    no measurements, only what identifies the run."""
    identity = config.identity()
    return RunRecord(
        run_id=config.new_run_id("failed"),
        method=config.method, task=identity["task"], dataset=dataset_label(config),
        preset=config.preset, seed=config.seed, status="failed", budget={}, params={},
        timing={}, sampling={}, metrics={}, references={}, judges={},
        config={"run": identity}, provenance=provenance(config_hash(identity)),
        error=error, run_key=config.run_key(),
    )


def dataset_label(config: RunConfig) -> str:
    """``<dataset>:<profile>`` as the run's own record would say it: the dataset by its
    factory's ``name`` (a plug-in's too), without building the dataset."""
    from benchmark.data import DATASETS
    from benchmark.profiles import PROFILES

    profile = PROFILES.get(config.profile).with_dataset(config.dataset)
    factory = DATASETS.get(profile.dataset)
    return f"{getattr(factory, 'name', profile.dataset)}:{profile.name}"


def dataset_config(dataset: Dataset, splits: Mapping[str, MediaSplit | FeatureSplit]
                   ) -> dict[str, Any]:
    """A record's ``config["dataset"]``: the dataset's ``name``, ``kind`` (media or
    embeddings), ``version``, content hash ``key`` and ``settings``; ``counts``, per split
    the items and how many hold each combination of modalities (the pair groups:
    ``text+image``, ..., ``text+image+audio``, and single modalities); and under ``media``
    what rendering its media needs (``sample_rate`` in Hz; empty for embeddings)."""
    test = splits["test"]
    return {
        "name": dataset.name,
        "kind": dataset.kind,
        "version": dataset.version,
        "key": dataset.key(),
        "settings": dataset.settings(),
        "counts": {name: pair_group_counts(split.present) for name, split in splits.items()},
        "media": {"sample_rate": test.sample_rate} if dataset.kind == "media" else {},
    }


def pair_group_counts(present: np.ndarray) -> dict[str, int]:
    """``{"items": N, "<m1>+<m2>...": n}``: how many items hold exactly each combination of
    modalities (``present``: ``bool [N, 3]`` in MODALITIES order), in a fixed order."""
    counts = {"items": len(present)}
    for size in (2, 3, 1):
        for combination in itertools.combinations(range(len(MODALITIES)), size):
            pattern = np.zeros(len(MODALITIES), dtype=bool)
            pattern[list(combination)] = True
            n = int((present == pattern).all(axis=1).sum())
            if n:
                counts["+".join(MODALITIES[j] for j in combination)] = n
    return counts


def provenance(config_hash: str, load_at_start: list[float] | None = None) -> dict[str, Any]:
    """Git commit (and whether the tree was dirty), the lock file the environment was
    installed from (:func:`lock_file_state`), package versions, hardware (with the CPUs
    the process could use, its torch threads, OpenMP's wait policy, the machine's load
    averages when the run started and the CPU's identity, which decides the last digits:
    benchmark/core/cpu_identity.py), config hash."""
    import numpy
    import pytorch_lightning
    import torch

    import benchmark
    from benchmark.core.cpu_identity import cpu_identity
    from benchmark.core.threads import chosen_rule, usable_cpus

    return {
        "git": _git_state(),
        "lock": lock_file_state(),
        "versions": {
            "anybench": benchmark.__version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "pytorch_lightning": pytorch_lightning.__version__,
            "numpy": numpy.__version__,
        },
        "hardware": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpu_count": os.cpu_count(),
            "usable_cpus": usable_cpus(),
            "torch_threads": torch.get_num_threads(),
            "torch_threads_from": chosen_rule(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "load_at_start": load_at_start,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "cpu": cpu_identity(),
        },
        "config_hash": config_hash,
    }


LOCK_FILE = "requirements.lock"


def lock_file_state() -> dict[str, Any]:
    """``{"file": "requirements.lock", "sha256": ...}`` of the lock file beside the source
    tree this code runs from (``make demo``/``make test`` install from it), or
    ``{"file": None, "sha256": None}`` for an install without one (``pip install .``)."""
    path = Path(__file__).resolve().parents[2] / LOCK_FILE
    if not path.is_file():
        return {"file": None, "sha256": None}
    return {"file": LOCK_FILE, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _git_state() -> dict[str, Any]:
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}

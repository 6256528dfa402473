"""RunRecord: the one JSON file each run writes; reports and drift checks read only these.

Files are written atomically and never overwrite one another (see ``atomic_path``); a run
writes its files into a staging folder and publishes them there, the record last
(benchmark/results/staging.py). Readers of a whole results folder go through
benchmark/results/folder.py (one record per run, unreadable files skipped and named).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.core.cache import atomic_path

if TYPE_CHECKING:
    pass

SCHEMA_VERSION = 3
"""3: ``config["dataset"]`` (:func:`dataset_config`) replaced 2's ``config["scenes"]``."""


@dataclass
class RunRecord:
    """Everything one run measured, with enough provenance to reproduce it.

    ``metrics`` maps a metric id (``"{modality}.{metric}[{evaluator}]"``) to a
    MetricValue dict ``{value, n, ci_low, ci_high}``; ``references`` holds the same
    metrics for the ``oracle`` (decode the true target embedding) and ``chance`` (decode
    a random training item) rows. ``judges`` maps metric ids to the evaluators' ceilings
    on real test media (attribute accuracy, alignment of real pairs, retrieval R@1).
    ``per_sample_file`` names the ``.npz`` beside the record that keeps every per-item
    score (keys ``"{row}/{metric id}"``), from which intervals can be recomputed.
    ``features_file`` names the ``.npz`` beside the record with the generated row's
    evaluator features of every set metric (FID, KID, FAD, emb_fd; float16), and
    ``features`` maps each such metric id to ``{"generated": member, "reference": file}``:
    the member of ``features_file`` with its generated rows, and the file (relative to the
    results folder, ``references/<hash>.npz``, shared by every run on the same real
    items) with the real reference rows (:func:`write_features`); both empty in records
    made before features were kept.
    ``samples_file`` names the ``.npz`` with the first test items' sources, generated
    outputs and real targets (write_samples), for a report's gallery.
    ``run_key`` hashes the settings that determine the results (RunConfig.identity):
    a sweep skips a run whose key already has an ``ok`` record. ``curve`` is quality vs
    compute: for each checkpoint fraction of the budget, the four budget figures reached
    and the generated row's metrics there (the last entry is the final model).
    ``training_log`` is the training's CSV log (benchmark/run/training_log.py: loss and its
    terms, learning rate, gradient norm, samples, FLOPs and samples/s per logging
    interval), its path relative to the results folder (``logs/<run_id>/metrics.csv``);
    the records of one ``suite`` training all name the same log; None in records made
    before logs were kept.
    ``protocol`` says whether the model was trained for this task alone (``task``) or once
    to serve every task the method supports (``suite``, its budget shared by all).
    ``dataset`` reads ``<dataset name>:<profile>``; ``config`` holds every setting of the
    run, the dataset's under ``config["dataset"]`` (:func:`dataset_config`: its kind,
    content hash, and item counts per split and pair group).
    ``skipped_metrics`` maps ``{subject}.{metric}`` to why a registered metric that applies
    to the task was not scored (no decoded media, no labels, no evaluator for a pair...).
    ``distributed`` says how the training ran (benchmark/run/distributed.py): Lightning's
    accelerator, strategy and precision, the world size, nodes and every process's device
    name; empty in records made before it was kept.
    """

    run_id: str
    method: str
    task: str
    dataset: str
    preset: str
    seed: int
    status: str
    budget: dict[str, Any]
    params: dict[str, int]
    timing: dict[str, float]
    sampling: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    references: dict[str, dict[str, dict[str, Any]]]
    judges: dict[str, dict[str, Any]]
    config: dict[str, Any]
    provenance: dict[str, Any]
    flops: float | None = None
    error: str | None = None
    per_sample_file: str | None = None
    run_key: str | None = None
    samples_file: str | None = None
    curve: list[dict[str, Any]] = field(default_factory=list)
    training_log: str | None = None
    protocol: str = "task"
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    skipped_metrics: dict[str, str] = field(default_factory=dict)
    distributed: dict[str, Any] = field(default_factory=dict)
    features_file: str | None = None
    features: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"


def write_record(record: RunRecord, results_dir: Path) -> Path:
    """Write ``record`` to ``results_dir/<run_id>.json``; refuses to replace an existing file."""
    final = results_dir / f"{record.run_id}.json"
    with atomic_path(final, overwrite=False) as tmp:
        tmp.write_text(record.to_json())
    return final


def write_per_sample(run_id: str, rows: dict[str, np.ndarray], results_dir: Path) -> Path:
    """Write per-item scores to ``results_dir/<run_id>.per_sample.npz`` (never overwrites);
    a run writes it into its staging folder, published before the record
    (benchmark/results/staging.py), so a record always finds its file."""
    return _write_arrays(results_dir / f"{run_id}.per_sample.npz", rows)


def write_samples(run_id: str, samples: dict[str, np.ndarray], results_dir: Path) -> Path:
    """Write a run's gallery samples to ``results_dir/<run_id>.samples.npz`` (never
    overwrites); keys ``source/<m>``, ``generated/<m>``, ``truth/<m>``."""
    return _write_arrays(results_dir / f"{run_id}.samples.npz", samples)


FEATURE_DTYPE = np.float16
REFERENCES_FOLDER = "references"


def write_features(run_id: str, features: Mapping[str, tuple[np.ndarray, np.ndarray]],
                   staging_dir: Path, results_dir: Path) -> tuple[Path, dict[str, dict[str, str]]]:
    """Store set metrics' features (metric id -> (generated rows, reference rows)) as
    float16: the generated rows in ``staging_dir/<run_id>.features.npz``, one member per
    distinct array (FID and KID share theirs), and each distinct reference set once per
    results folder, as ``results_dir/references/<content hash>.npz`` (written at once,
    never overwritten: the same name holds the same rows). Returns the run's file and the
    record's ``features`` map (RunRecord)."""
    members: dict[str, np.ndarray] = {}
    index: dict[str, dict[str, str]] = {}
    for metric_id, (generated, reference) in features.items():
        rows = np.ascontiguousarray(generated, dtype=FEATURE_DTYPE)
        member = _content_name(rows)
        members.setdefault(member, rows)
        index[metric_id] = {"generated": member,
                            "reference": _write_reference(reference, results_dir)}
    return _write_arrays(staging_dir / f"{run_id}.features.npz", members), index


def _content_name(rows: np.ndarray) -> str:
    """A name for ``rows`` from their shape and bytes."""
    digest = hashlib.sha256(repr(rows.shape).encode() + rows.tobytes()).hexdigest()
    return digest[:16]


def _write_reference(reference: np.ndarray, results_dir: Path) -> str:
    """``references/<hash>.npz`` under ``results_dir``, written unless already there."""
    rows = np.ascontiguousarray(reference, dtype=FEATURE_DTYPE)
    name = f"{REFERENCES_FOLDER}/{_content_name(rows)}.npz"
    path = results_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another run wrote it meanwhile
            _write_arrays(path, {"rows": rows})
    return name


def read_features(results_dir: Path, record: RunRecord, metric_id: str
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """The generated and reference feature rows (float64) a record stored for a set
    metric, or None when it stored none (made before features were kept, or a metric
    without features)."""
    entry = record.features.get(metric_id)
    if entry is None or record.features_file is None:
        return None
    with np.load(results_dir / record.features_file) as generated, \
            np.load(results_dir / entry["reference"]) as reference:
        return (generated[entry["generated"]].astype(np.float64),
                reference["rows"].astype(np.float64))


def read_samples(path: Path) -> dict[str, np.ndarray] | None:
    """The gallery samples in ``path`` (write_samples), every array read so that damage
    shows here; None when the file cannot be read whole (truncated, not an ``.npz``)."""
    try:
        with np.load(path) as samples:
            return {key: samples[key] for key in samples.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        return None


def _write_arrays(final: Path, arrays: dict[str, np.ndarray]) -> Path:
    """A compressed ``.npz`` written atomically; refuses to replace an existing file."""
    with atomic_path(final, overwrite=False) as tmp, tmp.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    return final


def read_record(path: Path) -> RunRecord:
    """The record in ``path`` (readers of a whole folder use benchmark/results/folder.py,
    which skips unreadable files and keeps one record per run)."""
    return RunRecord(**json.loads(path.read_text()))


def media_settings(record: RunRecord) -> dict[str, Any]:
    """What rendering a record's media needs (``sample_rate``), from either schema: 3 keeps
    it in ``config["dataset"]["media"]``; 2 had one dataset, whose settings (the sample rate
    among them) were ``config["scenes"]``."""
    if record.schema_version < 3:
        return {"sample_rate": record.config["scenes"]["sample_rate"]}
    return record.config["dataset"]["media"]



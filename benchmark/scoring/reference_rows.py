"""The method-independent part of a task's evaluation, computed once and cached.

Besides the generated row, every record scores two reference rows and the evaluators'
ceilings (benchmark/scoring/evaluation.py):

    oracle    the true test embeddings z_i, decoded and scored like generated outputs (a
              round trip's: the source itself, returned perfectly)
    chance    embeddings of N training items drawn without replacement (seeded; with
              replacement when fewer training items have the target), decoded and scored
              the same way; each target of a one-to-many task has its own draw, so the
              chance row's targets are a shuffled pairing
    ceilings  the per-item metrics on the real test media, and each alignment evaluator's
              retrieval R@1

None of them depends on the method, so a sweep that scores five methods on one task and
seed would compute them five times; for audio targets that is 2 x 1,000 Griffin-Lim
decodes each time. They are cached under a key that hashes the whole profile (dataset,
backbones, judges), the dataset's own content key (its settings with their defaults and
version), the evaluator kind, the task, the seed, the names of the scored
metrics and the source text of the evaluation and decoding code (and of any plug-in metric's
file), so a change to any of them recomputes instead of reusing stale numbers.
Only the embedded evaluators are cached: pretrained ones are read from user files that
can change behind the same path.

A cache file is an ``.npz`` archive that holds no pickle (a shared cache folder must not
run code): the member ``rows`` is JSON text with each row's metrics (value, n, interval, details)
and the skipped metrics, and each per-item score array is a member ``per_sample_<i>`` that
the JSON names. Loading gives back the same values, dtypes and key order; members are
written in a fixed order with fixed timestamps, so the same rows make the same bytes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmark.core.cache import cache_root, config_hash, load_or_build
from benchmark.core.tasks import Task
from benchmark.profiles import Profile
from benchmark.scoring.evaluation import RealReference, evaluator_ceilings, score_outputs
from metrics.spec import MetricSpec
from metrics.value import MetricValue

_EVALUATION_SOURCES = ("benchmark/scoring/evaluation.py", "benchmark/scoring/reference_rows.py",
                       "metrics", "benchmark/backbones", "benchmark/core/media",
                       "benchmark/core/media_split.py")
_REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ReferenceRows:
    """The oracle and chance rows and the ceilings of one (task, seed), by metric id, and
    the metrics any of them skipped (``{subject}.{metric}``: why)."""

    oracle: dict[str, MetricValue]
    chance: dict[str, MetricValue]
    ceilings: dict[str, MetricValue]
    skipped: dict[str, str] = field(default_factory=dict)


def evaluation_code_fingerprint(root: Path = _REPOSITORY) -> str:
    """A hash of the source text under ``root`` of the code that makes reference rows
    (benchmark/scoring/evaluation.py, this module, the metrics package with its evaluators, the
    backbones and media code that decode embeddings, and the media split), part of every
    cache key here."""
    digest = hashlib.sha256()
    for name in _EVALUATION_SOURCES:
        path = root / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def metrics_fingerprint(specs: Sequence[MetricSpec]) -> list[str]:
    """The scored metrics' names, each with a hash of the file its function is defined in
    when that file lies outside this repository (a plug-in metric; the repository's own
    files are in :func:`evaluation_code_fingerprint`)."""
    names = []
    for spec in specs:
        source = inspect.getsourcefile(spec.compute)
        outside = source is not None and not Path(source).resolve().is_relative_to(_REPOSITORY)
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()[:12] if outside else ""
        names.append(f"{spec.name}:{digest}")
    return names


def compute_reference_rows(task: Task, seed: int, inputs, reference: RealReference
                           ) -> ReferenceRows:
    """Decode and score the oracle and chance outputs of every target, and the ceilings."""
    train, test = inputs.embeddings["train"], inputs.embeddings["test"]
    rng = np.random.default_rng(seed)
    outputs: dict[str, dict[str, torch.Tensor]] = {"oracle": {}, "chance": {}}
    for target in task.targets:  # each target's own draw: a shuffled pairing of targets
        candidates = np.flatnonzero(train.present[target].numpy())
        chance_items = torch.from_numpy(rng.choice(candidates, size=len(test),
                                                   replace=len(candidates) < len(test)))
        outputs["oracle"][target] = test.embeddings[target]
        outputs["chance"][target] = train.embeddings[target][chance_items]
    rows = {}
    for row, embeddings in outputs.items():
        media = {target: inputs.backbones[target].decode(z)
                 for target, z in embeddings.items()
                 if target in inputs.backbones}  # none on precomputed embeddings
        rows[row] = score_outputs(task, media, {t: z.numpy() for t, z in embeddings.items()},
                                  reference, seed=seed)
    ceilings = evaluator_ceilings(task, reference, seed=seed)
    skipped = {**rows["oracle"].skipped, **rows["chance"].skipped, **ceilings.skipped}
    return ReferenceRows(rows["oracle"].values, rows["chance"].values, ceilings.values, skipped)


def reference_rows(task: Task, seed: int, profile: Profile, evaluator_kind: str, inputs,
                   reference: RealReference) -> ReferenceRows:
    """The task's reference rows: from the cache when the embedded evaluators computed
    them before under the same key (see the module doc), else computed (and cached)."""
    if evaluator_kind != "embedded":
        return compute_reference_rows(task, seed, inputs, reference)
    key = config_hash("reference-rows", profile, inputs.dataset.key(), evaluator_kind,
                      task.name, seed, evaluation_code_fingerprint(),
                      metrics_fingerprint(reference.metrics))
    return load_or_build(
        cache_root() / "reference_rows" / f"{key}.npz",
        lambda: compute_reference_rows(task, seed, inputs, reference),
        save=_save_rows, load=_load_rows,
    )


_ROWS = ("oracle", "chance", "ceilings")


def _save_rows(rows: ReferenceRows, path: Path) -> None:
    """Write ``rows`` as the ``.npz`` archive the module doc describes."""
    arrays: dict[str, np.ndarray] = {}

    def entry(value: MetricValue) -> dict:
        fields = value.to_dict()
        if value.per_sample is not None:
            fields["per_sample"] = name = f"per_sample_{len(arrays)}"
            arrays[name] = np.asarray(value.per_sample)
        return fields

    table = {row: {metric: entry(value) for metric, value in getattr(rows, row).items()}
             for row in _ROWS}
    table["skipped"] = rows.skipped
    text = json.dumps(table, default=lambda scalar: scalar.item())  # numpy scalars
    members = {"rows": np.array(text), **arrays}
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in members.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _load_rows(path: Path) -> ReferenceRows:
    """The rows :func:`_save_rows` wrote, every member read in full."""
    with np.load(path, allow_pickle=False) as archive:
        table = json.loads(str(archive["rows"]))

        def value(fields: dict) -> MetricValue:
            name = fields.pop("per_sample", None)
            core = {key: fields.pop(key) for key in ("value", "n", "ci_low", "ci_high")}
            return MetricValue(**core, per_sample=None if name is None else archive[name],
                               details=fields or None)

        rows = {row: {metric: value(fields) for metric, fields in table[row].items()}
                for row in _ROWS}
    return ReferenceRows(**rows, skipped=table["skipped"])

"""What a paired comparison reads of one run: its value on any multiset of test items.

A per-item metric (attr_acc, clip, emb_cos, ...) is the mean of the per-item scores the
run stored in its ``.per_sample.npz``; a set metric (FID, KID, FAD, emb_fd) is recomputed by
its spec's ``from_features`` from the feature rows the run stored (float16, so the
recomputed value differs from the record's in about the fourth significant digit; a
comparison uses the recomputed values on both sides). A metric that is neither (BLEU-4,
a corpus statistic whose value is not the mean of its per-item scores) cannot be
resampled per item and is said so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.core.errors import UserError
from benchmark.results.records import RunRecord, read_features
from metrics import spec_of
from metrics.spec import parse_metric_id
from metrics.value import is_mean_of


class NotComparable(UserError):
    """A metric of some run that a paired comparison cannot resample; the message says
    why and what to do."""


@dataclass(frozen=True)
class RunScores:
    """One run's metric: per-item ``scores [N]`` or the feature sets ``features``
    (generated [N, F], reference [N, F]) with the metric's recomputation, and which real
    items it was scored against (``test_set``: the dataset's content key, plus the
    reference feature file for a set metric)."""

    record: RunRecord
    metric_id: str
    test_set: str
    scores: np.ndarray | None = None
    features: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def items(self) -> int:
        return len(self.scores if self.scores is not None else self.features[0])

    def values_on(self, draws: np.ndarray) -> np.ndarray:
        """The metric on each row of test items of ``draws [B, n]`` (indices, repeats
        allowed): ``[B]``."""
        if self.scores is not None:
            return self.scores[draws].mean(axis=1)
        generated, reference = self.features
        recompute = spec_of(parse_metric_id(self.metric_id)[1]).from_features
        return np.asarray(recompute(generated, reference, draws), dtype=np.float64)

    def observed(self) -> float:
        """The metric on every test item."""
        return float(self.values_on(np.arange(self.items)[None])[0])


def load_run_scores(results_dir: Path, record: RunRecord, metric_id: str) -> RunScores:
    """The run's scores of ``metric_id``; :class:`NotComparable` when the record kept
    nothing to resample (made before features were kept, a corpus-level metric)."""
    spec = spec_of(parse_metric_id(metric_id)[1])
    label = f"{record.method} {record.task} seed {record.seed}"
    dataset = record.config.get("dataset", {}).get("key", "?")
    if spec.from_features is not None:
        features = read_features(results_dir, record, metric_id)
        if features is None:
            raise NotComparable(f"{metric_id} of {label}: no features stored (a record made "
                                "before anybench kept them): re-run to compare")
        if len(features[0]) != len(features[1]):
            raise NotComparable(f"{metric_id} of {label}: {len(features[0])} generated rows "
                                f"against {len(features[1])} real ones, so items are not "
                                "paired")
        return RunScores(record, metric_id, f"{dataset} {record.features[metric_id]['reference']}",
                         features=features)
    scores = _per_item_scores(results_dir, record, metric_id)
    if scores is None:
        raise NotComparable(f"{metric_id} of {label}: no per-item scores stored")
    value = record.metrics[metric_id]["value"]
    if not is_mean_of(scores, value):
        raise NotComparable(f"{metric_id} is a corpus statistic (its value is not the mean "
                            "of its per-item scores): no per-item test")
    return RunScores(record, metric_id, dataset, scores=scores)


def _per_item_scores(results_dir: Path, record: RunRecord, metric_id: str
                     ) -> np.ndarray | None:
    if record.per_sample_file is None or not (results_dir / record.per_sample_file).exists():
        return None
    with np.load(results_dir / record.per_sample_file) as archive:
        key = f"generated/{metric_id}"
        return archive[key].astype(np.float64) if key in archive.files else None

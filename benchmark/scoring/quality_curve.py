"""The quality-vs-compute curve: what the checkpoints kept at fractions of the budget
(benchmark/run/budget.py) generate, scored on the first test items."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace

from benchmark.core.stage_clock import timed
from benchmark.core.tasks import Task
from benchmark.scoring.evaluation import RealReference, Scores
from benchmark.scoring.sampling import Sampling, score_generated
from metrics.value import MetricValue, point_estimates


def _metric_dicts(values: dict[str, MetricValue]) -> dict[str, dict]:
    return {name: value.to_dict() for name, value in values.items()}


CURVE_ITEMS = 250
"""Test items the quality-vs-compute checkpoints are scored on: the first 250 (all of them
in a smaller test set). A quarter of the default profile's 1,000 cuts the curve's cost
(3 decodes of every test item, most of an audio run's evaluation) about 3x; every point
of one curve, the final model's included, is scored on the same items, so its values
compare with each other (a Fréchet distance moves with n), not with the record's
``metrics``, which are over every test item."""


def quality_curve(method, checkpoints: Sequence[dict], sampling: Sampling, final: Scores,
                  task: Task, inputs, reference: RealReference, seed: int) -> list[dict]:
    """The quality-vs-compute curve: per kept checkpoint, its budget figures and the values
    (no intervals: nothing reads a curve's, and resampling them cost more than the values,
    ``metrics.value.point_estimates``) of what it generates for the first
    :data:`CURVE_ITEMS` test items. With no more test items than that, the final point is
    the final model's scores themselves."""
    items = min(CURVE_ITEMS, len(next(iter(sampling.sources.values()))))
    subset = reference.first(items)
    sources = {m: z[:items] for m, z in sampling.sources.items()}
    on_subset = replace(sampling, sources=sources)
    curve = []
    for checkpoint in checkpoints:
        figures = {k: v for k, v in checkpoint.items() if k != "weights"}
        if subset is reference and checkpoint is checkpoints[-1]:
            values = {name: replace(value, ci_low=None, ci_high=None, details=None)
                      for name, value in final.values.items()}
        else:
            values = _checkpoint_values(checkpoint, method, on_subset, task, inputs,
                                        subset, seed)
        curve.append({**figures, "metrics": _metric_dicts(values)})
    return curve


def _checkpoint_values(checkpoint: dict, method, sampling: Sampling,
                       task: Task, inputs, reference: RealReference, seed: int
                       ) -> dict[str, MetricValue]:
    """The metric values (no intervals) of what the checkpoint's weights generate."""
    snapshot = copy.deepcopy(method)
    snapshot.load_state_dict(checkpoint["weights"])
    with timed("sample"):
        generated = sampling.generate(snapshot)
    with point_estimates():
        scores, _ = score_generated(generated, task, inputs.backbones, reference, seed)
    return scores.values

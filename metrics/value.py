"""A metric's value with its sample count and uncertainty.

Intervals come from resampling (a bootstrap over items), which costs far more than the
value itself (a Fréchet distance's 100 replicates: 100 matrix square roots). Inside
``with point_estimates():`` the resampling helpers (:func:`mean_with_bootstrap`,
``metrics.frechet.frechet_metric``, ``metrics.captioning.bleu4``) return the same value with
no interval; the harness scores the quality-vs-compute checkpoints this way, whose
intervals nothing reads.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MetricValue:
    """``value`` over ``n`` samples with a 95% interval ``[ci_low, ci_high]`` (None if none).

    ``per_sample`` keeps the per-item scores a mean was taken over (None for set-level
    metrics such as Fréchet distances); runs store them so intervals can be recomputed.
    ``features`` keeps a set metric's two feature sets ``(generated [n, F], reference
    [n', F])``, row i of each belonging to test item i when n = n'; runs store them so the
    metric can be recomputed on resampled items (benchmark/verdicts/). ``details`` are
    further record fields of the value (a Fréchet distance's ``fd_inf``), written beside
    value, n and interval.
    """

    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    per_sample: np.ndarray | None = field(default=None, compare=False, repr=False)
    features: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False,
                                                            repr=False)
    details: dict[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        """The record form: value, n, interval and the details (per-sample values and
        features are stored apart)."""
        return {"value": self.value, "n": self.n, "ci_low": self.ci_low, "ci_high": self.ci_high,
                **(self.details or {})}


def is_mean_of(per_sample: np.ndarray | None, value: float) -> bool:
    """Whether ``value`` is the mean of the per-item scores (to float rounding): what makes
    a metric resampleable per item. A corpus statistic (BLEU-4) stores per-item scores
    whose mean is not its value."""
    return per_sample is not None and bool(np.isclose(np.mean(per_sample), value, rtol=1e-6,
                                                      atol=1e-9))


_POINT_ESTIMATES = contextvars.ContextVar("point_estimates", default=False)


@contextlib.contextmanager
def point_estimates() -> Iterator[None]:
    """Within the block, metrics skip their resampling: values only, intervals None."""
    token = _POINT_ESTIMATES.set(True)
    try:
        yield
    finally:
        _POINT_ESTIMATES.reset(token)


def intervals_wanted() -> bool:
    """False inside :func:`point_estimates`: compute the value, leave the interval None."""
    return not _POINT_ESTIMATES.get()


def mean_with_bootstrap(
    per_sample: np.ndarray, seed: int = 0, resamples: int = 2_000
) -> MetricValue:
    """Mean of per-sample scores with a percentile-bootstrap 95% interval (scipy.stats).

    The interval resamples the stored per-sample values, never re-runs the model.
    """
    from scipy.stats import bootstrap

    values = np.asarray(per_sample, dtype=np.float64)
    if not intervals_wanted():
        return MetricValue(float(values.mean()), len(values), per_sample=values)
    if np.ptp(values) == 0.0:
        v = float(values.mean())
        return MetricValue(v, len(values), v, v, per_sample=values)
    result = bootstrap(
        (values,), np.mean, n_resamples=resamples, method="percentile",
        confidence_level=0.95, rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return MetricValue(float(values.mean()), len(values), float(low), float(high), values)

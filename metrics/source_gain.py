"""Gain from more sources: does a many-to-one task beat its best single source?

The same trained method generates target t of each test item from all the sources S of
a many-to-one task together (metric value m_S) and from each source s in S alone (m_s),
with the same seed. For a metric with direction d (+1 when higher is better, -1 when
lower is), the gain is

    gain_m = d · (m_S − m_best),    best = argmax_{s ∈ S} d · m_s

so a positive gain means the extra modalities helped and a negative one that they hurt,
whatever the metric's direction; ``gain_fid = 2`` is an FID two lower than the best single
source's. The interval is paired over test items (both sides are scored on the same items):

    per-item metric   g_i = d · (s_S,i − s_best,i), their mean with a bootstrap interval
    set metric        (FID, KID, FAD, emb_fd) recomputed from the stored feature rows on
                      ``SET_DRAWS`` item draws, the same draws for both sides: the 2.5th
                      and 97.5th percentiles of the drawn gains

The best single source is picked on the full test set, so the interval does not count the
choice (it slightly favours the single sources: a conservative gain). A corpus statistic
(BLEU-4: its value is not the mean of its per-item scores) has no gain.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from benchmark.core.registry import Entry
from metrics.spec import MetricSpec
from metrics.value import MetricValue, intervals_wanted, is_mean_of, mean_with_bootstrap

GAIN_ENTRY = Entry("gain_<metric>", lambda: None, "many-to-one tasks: a target metric from "
                   "every source together minus its best single source's, signed so that "
                   "higher is better, paired interval over items")
"""What ``ls metrics`` lists for the gains: they derive from the other metrics, so they are
not registered specs of their own (``metrics.spec_of`` resolves their names)."""

SET_DRAWS = 100
"""Item draws of a set metric's gain interval (the paired comparisons' count)."""


class NoGain(ValueError):
    """The metric's values cannot give a paired gain; the message says why."""


def source_gain(spec: MetricSpec, combined: MetricValue, singles: Mapping[str, MetricValue],
                seed: int = 0) -> MetricValue:
    """``gain_m`` of the module doc for ``spec``'s values from all sources together
    (``combined``) and from each source alone (``singles``, by source); ``details`` name
    the best single source and every single source's value. :class:`NoGain` when the
    values hold nothing to pair items with."""
    direction = 1.0 if spec.higher_is_better else -1.0
    best = max(singles, key=lambda source: direction * singles[source].value)
    details = {"best_single": best,
               "singles": {source: value.value for source, value in singles.items()}}
    gain = direction * (combined.value - singles[best].value)
    if spec.from_features is not None:
        low, high = _set_interval(spec, combined, singles[best], direction, seed)
        return MetricValue(gain, combined.n, low, high, details=details)
    per_item = [combined.per_sample, singles[best].per_sample]
    if not all(is_mean_of(scores, value.value)
               for scores, value in zip(per_item, (combined, singles[best]), strict=True)):
        raise NoGain(f"{spec.name} is not a mean of per-item scores (a corpus statistic): "
                     "no paired gain")
    if len(per_item[0]) != len(per_item[1]):
        raise NoGain(f"{spec.name} was scored on {len(per_item[0])} items from all sources "
                     f"and {len(per_item[1])} from {best} alone: items are not paired")
    value = mean_with_bootstrap(direction * (per_item[0] - per_item[1]), seed=seed)
    return MetricValue(value.value, value.n, value.ci_low, value.ci_high, value.per_sample,
                       details=details)


def _set_interval(spec: MetricSpec, combined: MetricValue, best: MetricValue,
                  direction: float, seed: int) -> tuple[float | None, float | None]:
    """The percentile interval of a set metric's gain over shared item draws (none inside
    ``point_estimates``)."""
    if combined.features is None or best.features is None:
        raise NoGain(f"{spec.name} kept no feature rows to redraw items from")
    generated, reference = combined.features
    best_generated, best_reference = best.features
    if not len(generated) == len(reference) == len(best_generated) == len(best_reference):
        raise NoGain(f"{spec.name}'s generated and real rows are not one per test item")
    if not intervals_wanted():
        return None, None
    draws = np.random.default_rng(seed).integers(0, len(generated), (SET_DRAWS, len(generated)))
    gains = direction * (np.asarray(spec.from_features(generated, reference, draws))
                         - np.asarray(spec.from_features(best_generated, best_reference, draws)))
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(low), float(high)

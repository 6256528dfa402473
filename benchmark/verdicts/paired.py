"""Paired comparison of two methods scored on the same test items: a two-level bootstrap.

Method A has runs (training seeds) a = 1..k_A, method B runs b = 1..k_B, every run scored
on the same N test items. A run's value on a multiset I of items is v_a(I): the mean of
its per-item scores over I, or a set metric (FID, KID, FAD, emb_fd) recomputed from its
stored feature rows of I (``MetricSpec.from_features``). The compared quantity is

    d = mean_a v_a(all items) - mean_b v_b(all items)

Each replicate r draws N item indices I*_r with replacement, the SAME ones for every run
of both methods (items are paired), then, for each method on its own, k seeds with
replacement (seeds are not paired across methods):

    T*_A = m_A + c_A (mean over the drawn seeds of v_a(I*_r) - m_A),
    m_A = mean over all a of v_a(I*_r),  c_A = sqrt(k_A / (k_A - 1))  (0 when k_A = 1)

and d*_r = T*_A - T*_B. The factor c_A removes the plain bootstrap's shrinkage of the
between-seed variance by (k - 1)/k, which matters at three seeds. Two standard errors come
out of the same replicates: se = sd(d*) and se_items = sd(m_A - m_B), the part from the
finite test set alone; se_seeds^2 = max(se^2 - se_items^2, 0) is the part from training
seeds. The test statistic d / se is referred to Student's t with Welch-Satterthwaite
degrees of freedom

    df = se^4 / (se_seeds^4 / (k_A + k_B - 2))      (infinite when the seeds add nothing)

so a comparison dominated by item noise is a paired z-test, and one dominated by seed
noise the two-sample t-test on seed means. The 95% interval is d +- t_{0.975, df} se and
the p-value two-sided. With one seed per method (k_A = k_B = 1) only items are resampled:
an item-level test, which says nothing about another training seed.

Calibration, measured over 1,000 simulated comparisons of two methods with the same
per-item score distribution on 400 shared items (tests/harness/test_paired_comparison.py has the
smaller, committed version): one seed each, 4.1% rejected at 5%; three seeds with a
seed effect as large as the item noise, 4.9%; three seeds with a seed effect a tenth of
it, 1.3%. The last is conservative because each run's own item noise is counted twice,
once in the seed spread and once in the item resampling; a claim or a bold cell may
therefore be missed, not invented.

Set metrics on resamples with replacement: duplicated rows shrink a covariance, which
shifts FD* upward; only the spread of the replicates is used (as metrics/frechet.py does),
never their location.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

RESAMPLES = 1_000
"""Replicates of a per-item metric's comparison (a mean: cheap)."""
SET_RESAMPLES = 100
"""Replicates of a set metric's comparison (each one recomputes the metric per run: an
FD of 128 features at n = 1,000 takes about 5 ms). 100 estimate se to about 7%."""
LEVEL = 0.05


@dataclass(frozen=True)
class PairedDifference:
    """``difference`` = mean(A) - mean(B) with its 95% interval, two-sided p-value, standard
    error and its two parts (module doc), degrees of freedom, seeds per method and items."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    se: float
    se_items: float
    se_seeds: float
    df: float
    seeds: tuple[int, int]
    items: int

    @property
    def item_level_only(self) -> bool:
        """True when one method has a single seed: nothing measured the seed spread."""
        return min(self.seeds) < 2


def item_draws(items: int, resamples: int, seed: int) -> np.ndarray:
    """``[resamples, items]`` item indices drawn with replacement, shared by every run."""
    return np.random.default_rng([seed, items]).integers(0, items, size=(resamples, items))


def paired_difference(observed_a: Sequence[float], observed_b: Sequence[float],
                      replicates_a: np.ndarray, replicates_b: np.ndarray, *,
                      items: int, seed: int = 0) -> PairedDifference:
    """The comparison of the module doc from each run's value on all items
    (``observed_*``, one per seed) and on the shared item draws (``replicates_*``:
    ``[seeds, resamples]``, each run's values on the same :func:`item_draws`,
    benchmark/verdicts/run_scores.py)."""
    a, b = np.atleast_2d(replicates_a), np.atleast_2d(replicates_b)
    if a.shape[1] != b.shape[1] or len(a) != len(observed_a) or len(b) != len(observed_b):
        raise ValueError("each run needs its observed value and the same replicate count")
    rng = np.random.default_rng([seed, len(a), len(b), 0x5EED])
    items_a, items_b = a.mean(axis=0), b.mean(axis=0)
    total = _seed_level(a, rng) - _seed_level(b, rng)
    difference = float(np.mean(observed_a) - np.mean(observed_b))
    se_items = float(np.std(items_a - items_b, ddof=1))
    se = float(np.std(total, ddof=1))
    se_seeds = float(np.sqrt(max(se**2 - se_items**2, 0.0)))
    df = satterthwaite_df(se, se_seeds, len(a) + len(b) - 2)
    p_value, half_width = _t_test(difference, se, df)
    return PairedDifference(difference, difference - half_width, difference + half_width,
                            p_value, se, se_items, se_seeds, df, (len(a), len(b)), items)


def _seed_level(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """T* of the module doc for one method: ``values`` ``[k, resamples]`` -> ``[resamples]``."""
    seeds, resamples = values.shape
    mean = values.mean(axis=0)
    if seeds < 2:
        return mean
    drawn = rng.integers(0, seeds, size=(seeds, resamples))
    drawn_mean = np.take_along_axis(values, drawn, axis=0).mean(axis=0)
    return mean + np.sqrt(seeds / (seeds - 1)) * (drawn_mean - mean)


def satterthwaite_df(se: float, se_seeds: float, seed_df: int) -> float:
    """Welch-Satterthwaite degrees of freedom of se^2 = se_items^2 + se_seeds^2, the item
    part taken as exactly known: se^4 / (se_seeds^4 / seed_df); infinite without a seed
    part."""
    if se_seeds <= 0.0 or seed_df < 1:
        return float("inf")
    return se**4 / (se_seeds**4 / seed_df)


def _t_test(difference: float, se: float, df: float) -> tuple[float, float]:
    """Two-sided p-value of difference / se under t(df), and the 95% half-width."""
    if se == 0.0:
        return (1.0 if difference == 0.0 else 0.0), 0.0
    p_value = float(2.0 * stats.t.sf(abs(difference) / se, df))
    return p_value, float(stats.t.ppf(1.0 - LEVEL / 2.0, df) * se)


def minimum_detectable_difference(se: float, df: float = float("inf"),
                                  power: float = 0.8) -> float:
    """The smallest true difference the two-sided test at 5% detects with ``power``:
    (t_{0.975, df} + t_{power, df}) se, about 2.8 se for many degrees of freedom."""
    return float((stats.t.ppf(1.0 - LEVEL / 2.0, df) + stats.t.ppf(power, df)) * se)

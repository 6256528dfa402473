"""The paired two-level bootstrap, Holm's correction and the power formula, against truths
known by construction (benchmark/verdicts/paired.py, comparisons.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from benchmark.verdicts.comparisons import Column, Comparison, holm
from benchmark.verdicts.paired import (
    PairedDifference,
    item_draws,
    minimum_detectable_difference,
    paired_difference,
)
from metrics.fid import kid_from_features
from metrics.frechet import frechet_distance, frechet_from_features

ITEMS = 400


def _compare(scores_a: np.ndarray, scores_b: np.ndarray, seed: int, resamples: int = 300):
    """Compare two methods' per-item scores ``[seeds, items]``."""
    draws = item_draws(scores_a.shape[1], resamples, seed)
    return paired_difference(scores_a.mean(axis=1), scores_b.mean(axis=1),
                             np.stack([s[draws].mean(axis=1) for s in scores_a]),
                             np.stack([s[draws].mean(axis=1) for s in scores_b]),
                             items=scores_a.shape[1], seed=seed)


def _simulated_methods(rng: np.random.Generator, seeds: int, shift: float = 0.0,
                       seed_sd: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-item scores of two methods on the same items: a shared item difficulty (what
    makes the comparison paired), a seed effect per run, item noise per run; B's mean is
    A's plus ``shift``."""
    difficulty = rng.normal(0.0, 1.0, ITEMS)

    def method(offset: float) -> np.ndarray:
        effects = rng.normal(0.0, seed_sd, (seeds, 1))
        return offset + difficulty + effects + rng.normal(0.0, 0.5, (seeds, ITEMS))

    return method(0.0), method(shift)


def _result(difference: float, p_value: float) -> PairedDifference:
    """A comparison's result with the given difference and p-value (the rest unused)."""
    return PairedDifference(difference, difference, difference, p_value, 1.0, 1.0, 0.0,
                            float("inf"), (1, 1), 2)


def _rejection_rate(rejections: int, trials: int) -> tuple[float, float, float]:
    """The observed rate and its exact (Clopper-Pearson) 95% interval."""
    interval = stats.binomtest(rejections, trials).proportion_ci(0.95)
    return rejections / trials, interval.low, interval.high


@pytest.mark.parametrize(("seeds", "seed_sd"), [(1, 0.0), (3, 0.05)])
def test_same_distribution_is_rejected_about_five_percent_of_the_time(seeds, seed_sd):
    """(a) 240 comparisons of two methods with identical per-item score distributions:
    the paired test rejects at 5% in at most about 5% of them. Observed here: 6/240 (2.5%,
    exact 95% interval 0.9-5.4%) with one seed per method; 5/240 (2.1%, 0.7-4.8%) with
    three seeds and a small seed effect, where the test is conservative (paired.py)."""
    rng = np.random.default_rng(11)
    trials = 240
    rejections = sum(_compare(*_simulated_methods(rng, seeds, seed_sd=seed_sd), seed=trial)
                     .p_value < 0.05 for trial in range(trials))
    rate, low, high = _rejection_rate(rejections, trials)
    assert low <= 0.05 and rate <= 0.09, (rate, low, high)


def test_the_minimum_detectable_difference_is_detected_about_80_percent_of_the_time():
    """(b) A shift as large as the power formula says this design detects (from the
    standard error of a pilot draw of the same design) is detected in about 80% of 200
    comparisons. Observed here: 164/200 (82%, 95% interval 76-87%)."""
    rng = np.random.default_rng(5)
    pilot = _compare(*_simulated_methods(rng, seeds=1), seed=0)
    detectable = minimum_detectable_difference(pilot.se, pilot.df)
    assert detectable == pytest.approx(2.8 * pilot.se, rel=0.01)
    trials = 200
    detected = sum(_compare(*_simulated_methods(rng, 1, shift=detectable), seed=t).p_value
                   < 0.05 for t in range(trials))
    rate, low, high = _rejection_rate(detected, trials)
    assert low <= 0.8 <= high + 0.03 and 0.7 <= rate <= 0.9, (rate, low, high)


def test_pairing_makes_the_test_sharper_than_unpaired_bands():
    """Item difficulty is shared, so the paired standard error is the item noise's alone:
    sqrt(2 * 0.5^2 / N), far below the spread of either method's own mean."""
    rng = np.random.default_rng(2)
    result = _compare(*_simulated_methods(rng, seeds=1), seed=0, resamples=2000)
    assert result.se == pytest.approx(np.sqrt(2 * 0.25 / ITEMS), rel=0.1)
    assert result.item_level_only and np.isinf(result.df)


def test_seed_spread_enters_the_standard_error_and_the_degrees_of_freedom():
    rng = np.random.default_rng(3)
    result = _compare(*_simulated_methods(rng, seeds=3, seed_sd=1.0), seed=0, resamples=2000)
    assert result.se_seeds > 5 * result.se_items
    assert 2 <= result.df <= 6  # dominated by the seeds: k_A + k_B - 2 = 4


def test_holm_matches_statsmodels():
    """(c) The family's adjusted p-values are statsmodels' Holm values, in order."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    p_values = rng.uniform(0, 0.2, 12)
    columns = [Column("t", "image.attr_acc[j]", {"a": 1.0, "b": 0.0}), Column("u", "x", {})]
    comparisons = [Comparison("t", "m", "a", "b", _result(1.0, p)) for p in p_values]
    columns[0].comparisons, columns[1].comparisons = comparisons[:7], comparisons[7:]
    assert holm(columns) == 12
    adjusted = [c.p_adjusted for column in columns for c in column.comparisons]
    np.testing.assert_allclose(adjusted, multipletests(p_values, method="holm")[1])


def test_a_resampled_fid_equals_clean_fids_on_the_same_rows():
    """(d) The value a set metric takes on a bootstrap resample is clean-fid's on the
    resampled rows: FID to the eigenvalue route's 1e-7 relative, KID (from the kernel
    matrices and the draw's counts) to round-off."""
    from cleanfid.fid import kernel_distance

    rng = np.random.default_rng(4)
    generated = rng.normal(0.3, 1.0, (300, 16))
    reference = rng.normal(0.0, 1.1, (300, 16))
    draws = item_draws(300, 3, seed=0)
    for rows, fid, kid in zip(draws, frechet_from_features(generated, reference, draws),
                              kid_from_features(generated, reference, draws), strict=True):
        assert fid == pytest.approx(frechet_distance(generated[rows], reference[rows]),
                                    rel=1e-7)
        assert kid == pytest.approx(kernel_distance(generated[rows], reference[rows],
                                                    num_subsets=1, max_subset_size=300),
                                    rel=1e-9)


def test_marks_bold_only_a_method_better_than_every_other_after_correction():
    def comparison(a: str, b: str, difference: float, p: float) -> Comparison:
        return Comparison("t", "image.attr_acc[j]", a, b, _result(difference, p), p)

    column = Column("t", "image.attr_acc[judge:scenes-v1]", {"a": 0.9, "b": 0.8, "c": 0.7})
    column.comparisons = [comparison("a", "b", 0.1, 0.01), comparison("a", "c", 0.2, 0.001),
                          comparison("b", "c", 0.1, 0.2)]
    assert column.marks() == {"a": "best"}
    column.comparisons[0] = comparison("a", "b", 0.1, 0.2)
    assert column.marks() == {"a": "tied", "b": "tied"}
    fid = Column("t", "image.fid[judge:scenes-v1]", {"a": 2.0, "b": 5.0})  # lower is better
    fid.comparisons = [comparison("a", "b", -3.0, 0.001)]
    assert fid.marks() == {"a": "best"}

"""Inside ``metrics.value.point_estimates`` every resampling metric returns the value it
returns outside, with no interval; outside, the interval is back (metrics/value.py)."""

from __future__ import annotations

import numpy as np

from metrics.alignment import clip_score
from metrics.captioning import bleu4, cider_d
from metrics.frechet import frechet_metric
from metrics.value import mean_with_bootstrap, point_estimates


def _scored_both_ways(score) -> tuple:
    with point_estimates():
        quick = score()
    return quick, score()


def test_values_equal_and_intervals_dropped_only_inside_the_block():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 8)), rng.normal(0.3, 1.0, size=(50, 8))
    captions = ["a red circle at the top", "a small blue square", "a green triangle left"]
    truth = [["a red circle top"], ["a large blue square"], ["a green triangle"]]
    scorers = {
        "frechet": lambda: frechet_metric(a, b, resamples=20),
        "mean": lambda: mean_with_bootstrap(a[:, 0]),
        "clip": lambda: clip_score(a[:50], b),
        "bleu4": lambda: bleu4(captions, truth),
        "cider_d": lambda: cider_d(captions, truth),
    }
    for name, score in scorers.items():
        quick, full = _scored_both_ways(score)
        assert quick.value == full.value and quick.n == full.n, name
        assert quick.ci_low is None and quick.ci_high is None, name
        assert full.ci_low is not None and full.ci_low < full.ci_high, name


def test_the_block_ends_even_when_its_body_raises():
    try:
        with point_estimates():
            raise RuntimeError
    except RuntimeError:
        pass
    assert mean_with_bootstrap(np.arange(5.0)).ci_low is not None

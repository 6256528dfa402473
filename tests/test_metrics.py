import numpy as np
import pytest

from metrics.attribute_accuracy import attribute_accuracy, per_sample_accuracy
from metrics.frechet import frechet_distance
from metrics.value import mean_with_bootstrap


def _exact_gaussian_sample(mean: np.ndarray, std: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Points whose sample mean is exactly ``mean`` and sample covariance exactly diag(std^2)."""
    x = np.random.default_rng(seed).standard_normal((n, len(mean)))
    x -= x.mean(0)
    whitening = np.linalg.cholesky(np.cov(x, rowvar=False))
    x = np.linalg.solve(whitening, x.T).T
    return x * std + mean


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    mean_a, std_a = np.array([0.0, 1.0, -2.0]), np.array([1.0, 2.0, 0.5])
    mean_b, std_b = np.array([1.0, 1.0, 0.0]), np.array([3.0, 1.0, 0.5])
    a = _exact_gaussian_sample(mean_a, std_a, 500, seed=0)
    b = _exact_gaussian_sample(mean_b, std_b, 700, seed=1)
    closed_form = np.sum((mean_a - mean_b) ** 2) + np.sum((std_a - std_b) ** 2)
    assert frechet_distance(a, b) == pytest.approx(closed_form, rel=1e-6)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    a = np.random.default_rng(0).standard_normal((300, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_per_sample_accuracy_averages_over_attributes():
    true = np.array([[0, 1, 1, 3], [2, 2, 0, 0]])
    predicted = np.array([[0, 1, 0, 3], [1, 0, 1, 1]])
    np.testing.assert_allclose(per_sample_accuracy(predicted, true), [0.75, 0.0])


def test_attribute_accuracy_interval_brackets_the_mean():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 4, (400, 4))
    predicted = np.where(rng.random((400, 4)) < 0.7, true, (true + 1) % 4)
    metric = attribute_accuracy(predicted, true)
    assert metric.n == 400
    assert metric.ci_low < metric.value < metric.ci_high
    assert metric.value == pytest.approx(0.7, abs=0.05)
    assert metric.ci_high - metric.ci_low < 0.1


def test_bootstrap_of_a_constant_is_a_point():
    metric = mean_with_bootstrap(np.ones(10))
    assert (metric.value, metric.ci_low, metric.ci_high) == (1.0, 1.0, 1.0)

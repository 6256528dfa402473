import numpy as np
import pytest

from metrics.attribute_accuracy import attribute_accuracy, per_sample_accuracy
from metrics.value import mean_with_bootstrap


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

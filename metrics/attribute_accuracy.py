"""Attribute accuracy: does the generated output show its source's latent attributes?

For item i with true attributes a_i in N^A and judge predictions p_i on the generated
output, the per-sample score is (1/A) * sum_k 1[p_ik = a_ik]; the metric is their mean
with a bootstrap interval. Chance level is the mean over attributes of 1/|values_k|.
"""

from __future__ import annotations

import numpy as np

from metrics.value import MetricValue, mean_with_bootstrap


def per_sample_accuracy(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """``float [N]``: fraction of the A attributes predicted correctly for each item."""
    return (np.asarray(predicted) == np.asarray(true)).mean(axis=1)


def attribute_accuracy(predicted: np.ndarray, true: np.ndarray, seed: int = 0) -> MetricValue:
    return mean_with_bootstrap(per_sample_accuracy(predicted, true), seed=seed)

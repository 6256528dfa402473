"""Fréchet distance between two sets of features.

For Gaussians fitted to the two sets, N(mu_1, S_1) and N(mu_2, S_2):

    FD = ||mu_1 - mu_2||^2 + Tr(S_1) + Tr(S_2) - 2 Tr((S_1 S_2)^{1/2})

It is biased in the sample count n, so only values at equal n are comparable; the
MetricValue keeps n and has no interval (spread comes from seeds, not resampling).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from metrics.value import MetricValue


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FD between the Gaussians fitted to ``features_a [n, F]`` and ``features_b [m, F]``."""
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        # With n below the feature size the covariances are singular; the square root of
        # their product is still well defined and the non-finite case is handled below.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    if not np.isfinite(covmean).all():
        # Near-singular product: regularize both covariances slightly (as clean-fid does).
        offset = np.eye(len(cov_a)) * 1e-6
        covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean.real)
    return float(max(value, 0.0))


def frechet_metric(generated: np.ndarray, reference: np.ndarray) -> MetricValue:
    """FD of generated features against reference features, with n = len(generated)."""
    return MetricValue(frechet_distance(generated, reference), n=len(generated))

"""Fréchet distance between two sets of features.

For Gaussians fitted to the two sets, N(mu_1, S_1) and N(mu_2, S_2):

    FD = ||mu_1 - mu_2||^2 + Tr(S_1) + Tr(S_2) - 2 Tr((S_1 S_2)^{1/2})

The formula itself is clean-fid's ``frechet_distance`` (the canonical FID code), so FID,
FAD and the embedding-space distance all share one implementation. It is biased in the
sample count n, so only values at equal n are comparable; the MetricValue keeps n.

Its 95% interval is FD +- 1.96 se, floored at 0, where se is the standard deviation of
FD* over B bootstrap replicates (both sets resampled with replacement, each at its own
size). Only the spread of the replicates is used: duplicated items shrink a resample's
covariance and shift FD* upwards by more than its spread at moderate n, so percentile and
basic bootstrap intervals need not even contain FD. The interval describes how much FD
moves with the finite test set at this n, not spread over training seeds (sweeps report
that).

A replicate takes the trace term another way (:func:`frechet_distance_by_eigenvalues`):
S_1 S_2 has the eigenvalues of the symmetric matrix S_1^{1/2} S_2 S_1^{1/2}, so
Tr((S_1 S_2)^{1/2}) = sum_i sqrt(lambda_i), from two symmetric eigendecompositions instead
of scipy's Schur-form square root: 100 replicates at n = 1000 took 2.07 s by clean-fid
and 0.39 s this way on the judges' 128 features (0.16 s and 0.12 s at 64), and their
standard deviation agreed to 5e-11 relative (1e-8 at n = 100, where the covariances are
singular). Those replicates were almost half of the demo's scoring. FD itself stays
clean-fid's.

FD's bias shrinks like 1/n (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception
Score"), by an amount that depends on the sets, so two FDs compare only at equal n. Beside
FD the record keeps FD_inf, the extrapolation to infinitely many generated items:

    FD(n_j) = FD_inf + b / n_j,   fitted by least squares over j = 1..J

where FD(n_j) is the mean FD of :data:`FD_INF_DRAWS` random subsets of n_j generated rows
(drawn without replacement, so no row is duplicated) against the whole reference set, as
Chong & Forsyth do; the n_j are spread evenly from n/5 to n (:data:`FD_INF_POINTS` sizes).
The record keeps FD_inf, the fit's R^2 and the sizes (``details["fd_inf"]``). Subsetting
the reference rows of the same items as well would be wrong here: generated item i comes
from real item i's source, so the two subsets' sampling errors are correlated and
partly cancel, and FD on paired subsets grows with n instead of shrinking. Each subset's
FD takes the eigenvalue route; the subsets come from their own seeded stream, so adding
FD_inf moved no other number.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from metrics.value import MetricValue, intervals_wanted


def frechet_distance_from_statistics(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """FD between N(mu1, sigma1) and N(mu2, sigma2), computed in float64 by clean-fid.

    When ``S_1 S_2`` is singular enough that its square root is not finite, clean-fid adds
    1e-6 to both diagonals (it prints a note, silenced here). It raises ``ValueError`` when
    the square root has a sizeable imaginary part, a genuine numerical failure. The true FD
    is never negative, so round-off below zero (about -1e-6 for singular covariances) is
    clamped to 0.
    """
    from cleanfid.fid import frechet_distance as clean_fid_frechet_distance  # imports torch
    from scipy import linalg

    stats = [np.asarray(x, dtype=np.float64) for x in (mu1, sigma1, mu2, sigma2)]
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet, warnings.catch_warnings(), np.errstate(invalid="ignore"):
        # Singular covariances (n below the feature size, dead ReLU units) are expected, and
        # a non-finite square root is what triggers clean-fid's regularization; the
        # DeprecationWarning is scipy's about clean-fid's own `disp=False` argument.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        value = clean_fid_frechet_distance(*stats)
    return float(max(value, 0.0))


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[F]`` and unbiased covariance ``[F, F]`` (divisor n - 1) of ``features [n, F]``."""
    x = np.asarray(features, dtype=np.float64)
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FD between the Gaussians fitted to ``features_a [n, F]`` and ``features_b [m, F]``."""
    return frechet_distance_from_statistics(
        *gaussian_statistics(features_a), *gaussian_statistics(features_b)
    )


def psd_square_root(sigma: np.ndarray) -> np.ndarray:
    """R = S^{1/2} of a symmetric positive semi-definite ``sigma``, from its eigenvectors V
    and eigenvalues lambda: R = V diag(sqrt(max(lambda, 0))) V^T (round-off below zero
    clamped)."""
    eigenvalues, vectors = np.linalg.eigh(sigma)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def _frechet_by_root(mu1: np.ndarray, trace1: float, root1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """FD of :func:`frechet_distance_by_eigenvalues` from the first Gaussian's mean, the
    trace of its covariance and that covariance's square root R (:func:`psd_square_root`)."""
    inner = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()
    difference = mu1 - mu2
    value = difference @ difference + trace1 + np.trace(sigma2) - 2.0 * trace_sqrt
    return float(max(value, 0.0))


def frechet_distance_by_eigenvalues(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                                    sigma2: np.ndarray) -> float:
    """FD between N(mu1, sigma1) and N(mu2, sigma2) for symmetric positive semi-definite
    covariances, with Tr((S_1 S_2)^{1/2}) = sum_i sqrt(lambda_i) over the eigenvalues of
    R S_2 R, R = S_1^{1/2} (module doc). RS_2R and S_1 S_2 = R(RS_2) share their non-zero
    eigenvalues, so this holds for singular S_1 too; round-off below zero (in the
    eigenvalues, and in FD) is clamped to 0."""
    return _frechet_by_root(mu1, np.trace(sigma1), psd_square_root(sigma1), mu2, sigma2)


REFERENCE_SIDES_KEPT = 4
"""How many reference sides (:func:`_reference_side`) a process keeps, most recent first."""

REFERENCE_SIDE_BYTES = 256 * 2**20
"""A reference side larger than this (its square roots: draws x F x F float64) is not kept."""

_reference_sides: OrderedDict[bytes, list[tuple[np.ndarray, float, np.ndarray]]] = OrderedDict()


def _reference_side(features: np.ndarray, draws: np.ndarray
                    ) -> Iterable[tuple[np.ndarray, float, np.ndarray]]:
    """For each row of ``draws``, the mean, covariance trace and covariance square root of
    those rows of ``features``.

    A paired comparison scores every method of a column against the same reference rows
    on the same item draws (benchmark/verdicts/comparisons.py), so the sides last asked
    for are kept (:data:`REFERENCE_SIDES_KEPT`), keyed by a hash of both arrays' bytes: the
    square roots, most of a replicate's cost, are then taken once per column instead of
    once per method. A side larger than :data:`REFERENCE_SIDE_BYTES` is not kept but made
    draw by draw as it is read, so memory holds one square root at a time.
    """
    def draw_by_draw() -> Iterator[tuple[np.ndarray, float, np.ndarray]]:
        for rows in draws:
            mean, sigma = gaussian_statistics(features[rows])
            yield mean, float(np.trace(sigma)), psd_square_root(sigma)

    if len(draws) * features.shape[1] ** 2 * 8 > REFERENCE_SIDE_BYTES:
        return draw_by_draw()
    digest = hashlib.blake2b(repr((features.shape, features.dtype.str, draws.shape)).encode())
    digest.update(np.ascontiguousarray(features).tobytes())
    digest.update(np.ascontiguousarray(draws).tobytes())
    key = digest.digest()
    if key not in _reference_sides:
        _reference_sides[key] = list(draw_by_draw())
        while len(_reference_sides) > REFERENCE_SIDES_KEPT:
            _reference_sides.popitem(last=False)
    _reference_sides.move_to_end(key)
    return _reference_sides[key]


def frechet_from_features(features_a: np.ndarray, features_b: np.ndarray,
                          draws: np.ndarray) -> np.ndarray:
    """FD between the Gaussians fitted to the rows ``draws[r]`` of two feature sets, for
    each r, by the eigenvalue route (clean-fid's value to about 1e-8 relative, module doc)
    with the square root taken of the reference side (``features_b``), which every method
    of a comparison shares (:func:`_reference_side`): a set metric's ``from_features``
    (metrics/spec.py). FD is symmetric, so this is the same distance with R = S_b^{1/2}
    (equal to round-off to the generated side's route; a test compares them)."""
    draws = np.atleast_2d(draws)
    reference = _reference_side(np.asarray(features_b), draws)
    return np.array([_frechet_by_root(mean_b, trace_b, root_b,
                                      *gaussian_statistics(features_a[rows]))
                     for rows, (mean_b, trace_b, root_b) in zip(draws, reference, strict=True)])


FD_INF_POINTS = 10
"""Subset sizes FD_inf is fitted over (module doc)."""
FD_INF_DRAWS = 3
"""Random subsets averaged at each size (module doc)."""


@dataclass(frozen=True)
class InverseSizeFit:
    """``y = intercept + slope / n`` fitted by least squares, with its R^2."""

    intercept: float
    slope: float
    r2: float


def fit_inverse_size(sizes: np.ndarray, values: np.ndarray) -> InverseSizeFit:
    """Least-squares line of ``values`` against ``1 / sizes``; its intercept is the value at
    n -> infinity. R^2 = 1 - SS_res / SS_tot (1 when the values do not vary)."""
    x = 1.0 / np.asarray(sizes, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(((y - (intercept + slope * x)) ** 2).sum())
    total = float(((y - y.mean()) ** 2).sum())
    return InverseSizeFit(float(intercept), float(slope),
                          1.0 if total == 0.0 else 1.0 - residual / total)


def fd_infinity(generated: np.ndarray, reference: np.ndarray, *, seed: int = 0,
                points: int = FD_INF_POINTS, draws: int = FD_INF_DRAWS) -> dict[str, Any]:
    """``{"value": FD_inf, "r2": R^2, "sizes": [n_j]}`` of the module doc: the mean FD of
    ``draws`` random subsets of generated rows at each of ``points`` sizes from n/5 to n
    (n = len(generated)) against all reference rows, then the intercept of FD against
    1/n_j."""
    a = np.asarray(generated, dtype=np.float64)
    reference_statistics = gaussian_statistics(reference)
    sizes = np.unique(np.linspace(max(len(a) // 5, 2), len(a), points).round().astype(int))
    rng = np.random.default_rng([seed, 0xFD])  # its own stream: no other number moves
    values = [np.mean([frechet_distance_by_eigenvalues(
        *gaussian_statistics(a[rng.permutation(len(a))[:size]]), *reference_statistics)
        for _ in range(draws)]) for size in sizes]
    fit = fit_inverse_size(sizes, np.array(values))
    return {"value": fit.intercept, "r2": fit.r2, "sizes": sizes.tolist()}


FRECHET_RESAMPLES = 100


def frechet_metric(generated: np.ndarray, reference: np.ndarray, *, seed: int = 0,
                   resamples: int = FRECHET_RESAMPLES) -> MetricValue:
    """FD of generated against reference features, n = len(generated), with the
    bootstrap-standard-error interval and FD_inf of the module doc (``resamples``
    replicates, seeded; neither inside ``metrics.value.point_estimates``). The value keeps
    both feature sets (``features``)."""
    a = np.asarray(generated, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    value = frechet_distance(a, b)
    if not intervals_wanted():
        return MetricValue(value, n=len(a), features=(a, b))
    rng = np.random.default_rng(seed)
    replicates = np.array([
        frechet_distance_by_eigenvalues(
            *gaussian_statistics(a[rng.integers(0, len(a), len(a))]),
            *gaussian_statistics(b[rng.integers(0, len(b), len(b))]))
        for _ in range(resamples)
    ])
    half_width = 1.96 * float(replicates.std(ddof=1))
    return MetricValue(value, n=len(a), ci_low=max(value - half_width, 0.0),
                       ci_high=value + half_width, features=(a, b),
                       details={"fd_inf": fd_infinity(a, b, seed=seed)})

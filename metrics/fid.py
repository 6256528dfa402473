"""FID and KID of images, on features made the clean-fid way (``mode="clean"``).

The features ``f`` of generated (g) and reference (r) images come from the run's image
feature extractor (metrics/evaluators/image_features.py: clean-fid's pipeline with the
embedded image judge or Inception-V3). On them:

    FID = ||mu_g - mu_r||^2 + Tr(S_g) + Tr(S_r) - 2 Tr((S_g S_r)^{1/2})     (metrics.frechet)

    KID = mean over subsets of the unbiased MMD^2 with k(x, y) = (x.y / F + 1)^3:
          MMD^2 = sum_{i!=j} [k(g_i, g_j) + k(r_i, r_j)] / (m (m - 1))
                  - 2 sum_{i,j} k(g_i, r_j) / m^2,
          on ``num_subsets`` random subsets of size m = min(n_g, n_r, max_subset_size)

Both are biased in n (KID's expectation is not, but its spread is), so values are
compared at equal n only; each MetricValue records n = number of generated items. FID's
95% interval is metrics/frechet.py's; KID's is KID +- 1.96 se, where se is the standard
deviation of KID over :data:`KID_RESAMPLES` bootstrap draws of the n items (generated item
i drawn with its reference item i, :func:`kid_from_features`), given when the two sets
have the same n (the one-subset case). KID can be slightly negative when the two sets
match, so its interval is not floored at 0.
"""

from __future__ import annotations

import numpy as np

from metrics.frechet import frechet_from_features, frechet_metric
from metrics.spec import MetricInputs, MetricSpec
from metrics.value import MetricValue, intervals_wanted

KID_RESAMPLES = 100
"""Bootstrap draws behind KID's interval (as many as FID's)."""


def fid(generated_features: np.ndarray, reference_features: np.ndarray,
        seed: int = 0) -> MetricValue:
    """FID of generated against reference features (clean-fid's ``fid_from_feats``), with
    the bootstrap interval of metrics/frechet.py."""
    return frechet_metric(generated_features, reference_features, seed=seed)


def kid(
    generated_features: np.ndarray, reference_features: np.ndarray, seed: int = 0, *,
    num_subsets: int = 100, max_subset_size: int = 1000,
) -> MetricValue:
    """KID by clean-fid's ``kernel_distance`` (its defaults), deterministic for ``seed``.

    KID averages, over ``num_subsets`` draws of m = min(n_generated, n_reference,
    ``max_subset_size``) items from each set, the unbiased MMD^2 estimate with the kernel
    k(x, y) = (x.y / d + 1)^3. When both sets have exactly m items every draw is a
    permutation of the whole sets, and the estimate does not depend on the order, so one
    draw gives the same value (up to float rounding) at 1/num_subsets of the cost.

    clean-fid draws the subsets from the global ``np.random``; its state is seeded for the
    call and restored afterwards, so callers' random streams are untouched. The interval
    (module doc) comes from its own stream seeded with ``seed``, so it moves no value.
    """
    from cleanfid.fid import kernel_distance  # imports torch

    if len(generated_features) == len(reference_features) <= max_subset_size:
        num_subsets = 1
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        value = kernel_distance(
            np.asarray(generated_features, dtype=np.float64),
            np.asarray(reference_features, dtype=np.float64),
            num_subsets=num_subsets, max_subset_size=max_subset_size,
        )
    finally:
        np.random.set_state(saved)
    features = (np.asarray(generated_features), np.asarray(reference_features))
    if num_subsets > 1 or not intervals_wanted():
        return MetricValue(value, n=len(generated_features), features=features)
    n = len(generated_features)
    draws = np.random.default_rng(seed).integers(0, n, size=(KID_RESAMPLES, n))
    half_width = 1.96 * float(kid_from_features(*features, draws).std(ddof=1))
    return MetricValue(value, n=n, ci_low=value - half_width, ci_high=value + half_width,
                       features=features)


def kid_from_features(generated_features: np.ndarray, reference_features: np.ndarray,
                      draws: np.ndarray) -> np.ndarray:
    """KID of the rows ``draws[r]`` of two n-row feature sets (the same rows of both), for
    each r: a set metric's ``from_features`` (metrics/spec.py). With m = n, clean-fid's one
    subset is the whole resampled set, and its sums over positions p != q come from the
    kernel matrices of the original rows and each draw's counts w (w_i = how often row i
    is drawn):

        sum_{p != q} k(g_p, g_q) = w' K_gg w - w' diag(K_gg),   sum_{p, q} k(g_p, r_q) = w' K_gr w

    so each draw costs three matrix-vector products instead of three n x n kernels."""
    g = np.asarray(generated_features, dtype=np.float64)
    r = np.asarray(reference_features, dtype=np.float64)
    n, dims = g.shape

    def kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x @ y.T / dims + 1.0) ** 3

    k_gg, k_rr, k_gr = kernel(g, g), kernel(r, r), kernel(g, r)
    values = []
    for rows in np.atleast_2d(draws):
        w = np.bincount(rows, minlength=n).astype(np.float64)
        within = (w @ k_gg @ w - w @ np.diag(k_gg) + w @ k_rr @ w - w @ np.diag(k_rr))
        values.append(within / (n * (n - 1)) - 2.0 * (w @ k_gr @ w) / n**2)
    return np.array(values)


def _fid(inputs: MetricInputs) -> MetricValue:
    return fid(inputs.output, inputs.reference, seed=inputs.seed)


def _kid(inputs: MetricInputs) -> MetricValue:
    return kid(inputs.output, inputs.reference, seed=inputs.seed)


FID = MetricSpec(
    name="fid",
    description="Fréchet distance of image features (clean-fid, mode=clean), generated vs real "
                "test images at equal n (lower is better)",
    higher_is_better=False, targets=("image",), evaluator="features", compute=_fid,
    from_features=frechet_from_features,
)
KID = MetricSpec(
    name="kid",
    description="kernel inception distance on the same features as fid (lower is better)",
    higher_is_better=False, targets=("image",), evaluator="features", compute=_kid,
    from_features=kid_from_features,
)

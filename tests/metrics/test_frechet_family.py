"""Fréchet distance, FID/KID the clean-fid way and FAD, against closed forms and libraries."""

import numpy as np
import pytest
import torch
from cleanfid.fid import fid_from_feats
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from benchmark.core.errors import UserError
from benchmark.data.scenes import ScenesConfig, generate_split
from metrics.evaluators.attribute_judges import AttributeJudge
from metrics.evaluators.audio_features import judge_audio_features
from metrics.evaluators.image_features import (
    clean_image_features,
    inception_extractor,
    judge_image_extractor,
    judge_resize,
)
from metrics.evaluators.weights import INCEPTION_FILE
from metrics.fad import fad
from metrics.fid import fid, kid
from metrics.frechet import (
    frechet_distance,
    frechet_distance_by_eigenvalues,
    frechet_distance_from_statistics,
    frechet_from_features,
    frechet_metric,
    gaussian_statistics,
)


def _rotation(dim: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q


def _exact_gaussian_sample(mean: np.ndarray, cov: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Points whose sample mean is exactly ``mean`` and sample covariance exactly ``cov``."""
    x = np.random.default_rng(seed).standard_normal((n, len(mean)))
    x -= x.mean(0)
    x = np.linalg.solve(np.linalg.cholesky(np.cov(x, rowvar=False)), x.T).T
    return x @ np.linalg.cholesky(cov).T + mean


@pytest.fixture(scope="module")
def scenes():
    return generate_split(ScenesConfig(n_train=10, n_test=12), "test")


def _untrained_judge(modality: str, test) -> AttributeJudge:
    torch.manual_seed(0)
    return AttributeJudge(modality, test.attribute_names, test.attribute_sizes,
                          num_samples=test.audio.shape[1], sample_rate=test.sample_rate)


class _Passthrough(nn.Module):
    """A torchmetrics "feature extractor" whose inputs already are the features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


# clean-fid's Schur-form square root (FD's value) and the eigenvalue route (its bootstrap
# replicates) must both give the closed forms
FD_ROUTES = pytest.mark.parametrize(
    "route", [frechet_distance_from_statistics, frechet_distance_by_eigenvalues])


@FD_ROUTES
def test_fd_matches_the_closed_form_for_commuting_full_covariances(route):
    # S_1 = Q diag(a) Q^T, S_2 = Q diag(b) Q^T  =>  FD = |mu_1 - mu_2|^2 + sum (sqrt a - sqrt b)^2
    q = _rotation(6, seed=0)
    a, b = np.array([0.5, 1, 2, 3, 4, 9.0]), np.array([4, 1, 0.25, 3, 1, 1.0])
    mu1, mu2 = np.arange(6.0), np.arange(6.0)[::-1]
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    value = route(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert value == pytest.approx(expected, rel=1e-9)


@FD_ROUTES
def test_fd_matches_the_closed_form_for_non_commuting_2x2_covariances(route):
    # S_1 S_2 has positive eigenvalues l_1, l_2, so Tr sqrt(S_1 S_2) = sqrt(l_1) + sqrt(l_2)
    # = sqrt(Tr(S_1 S_2) + 2 sqrt(det S_1 det S_2)).
    s1, s2 = np.array([[2.0, 0.8], [0.8, 1.0]]), np.array([[1.0, -0.3], [-0.3, 3.0]])
    assert not np.allclose(s1 @ s2, s2 @ s1)
    mu1, mu2 = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    tr_sqrt = np.sqrt(np.trace(s1 @ s2) + 2 * np.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert route(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fd_of_samples_equals_the_closed_form_of_their_exact_moments():
    q = _rotation(3, seed=1)
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    a = _exact_gaussian_sample(mean_a, q @ np.diag(var_a) @ q.T, 500, seed=2)
    b = _exact_gaussian_sample(mean_b, q @ np.diag(var_b) @ q.T, 700, seed=3)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_fd_of_a_set_with_itself_is_zero_and_never_negative():
    a = np.random.default_rng(0).standard_normal((300, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # n < F: singular covariances; clean-fid's raw value is about -1e-6 here.
    small = np.random.default_rng(0).standard_normal((50, 128))
    assert 0.0 <= frechet_distance(small, small) < 1e-5


def test_fd_regularizes_a_product_without_square_root_silently(capsys):
    # S_1 S_2 = [[0, 1], [0, 0]] has no square root, so clean-fid adds 1e-6 to both diagonals
    # (and would print a note).
    nilpotent, zero = np.array([[0.0, 1.0], [0.0, 0.0]]), np.zeros(2)
    value = frechet_distance_from_statistics(zero, nilpotent, zero, np.eye(2))
    assert np.isfinite(value) and value == pytest.approx(2.0, abs=1e-2)
    assert capsys.readouterr().out == ""


def test_the_eigenvalue_route_matches_clean_fid_on_feature_sized_statistics():
    rng = np.random.default_rng(3)
    # The last: singular covariances (n < F). The square root of a zero eigenvalue comes out
    # as that of its round-off, about 1e-8, by either route: on a singular pair with a known
    # FD both are about 2e-8 relative off it.
    for n, features, rel in ((1000, 256, 1e-11), (300, 64, 1e-11), (100, 256, 1e-7)):
        stats = [*gaussian_statistics(rng.standard_normal((n, features))),
                 *gaussian_statistics(0.2 + 1.5 * rng.standard_normal((n, features)))]
        assert frechet_distance_by_eigenvalues(*stats) == pytest.approx(
            frechet_distance_from_statistics(*stats), rel=rel), (n, features)


def test_the_bootstrap_interval_is_the_one_clean_fid_replicates_give(feature_sets):
    generated, reference = feature_sets
    value = frechet_metric(generated, reference, seed=4, resamples=30)
    rng = np.random.default_rng(4)
    replicates = [frechet_distance(generated[rng.integers(0, 600, 600)],
                                   reference[rng.integers(0, 500, 500)]) for _ in range(30)]
    half_width = 1.96 * float(np.std(replicates, ddof=1))
    assert value.value == frechet_distance(generated, reference)
    assert value.ci_high - value.value == pytest.approx(half_width, rel=1e-9)


@pytest.fixture(scope="module")
def feature_sets():
    rng = np.random.default_rng(7)
    generated = rng.standard_normal((600, 64))
    mixing = np.eye(64) + 0.2 * rng.standard_normal((64, 64))
    reference = 0.3 + rng.standard_normal((500, 64)) @ mixing
    return generated, reference


def test_fid_agrees_with_clean_fid_and_torchmetrics(feature_sets):
    generated, reference = feature_sets
    metric = fid(generated, reference)
    assert metric.n == 600 and metric.ci_low <= metric.value <= metric.ci_high
    assert metric.value == pytest.approx(fid_from_feats(generated, reference), rel=1e-9)
    torchmetrics_fid = FrechetInceptionDistance(feature=_Passthrough(64))
    torchmetrics_fid.update(torch.from_numpy(reference), real=True)
    torchmetrics_fid.update(torch.from_numpy(generated), real=False)
    assert metric.value == pytest.approx(float(torchmetrics_fid.compute()), rel=1e-3)
    assert metric.value > 10.0  # the two distributions do differ


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance`")
def test_kid_on_whole_sets_equals_torchmetrics_unbiased_mmd():
    # With subsets as large as both sets, every subset is the whole set (MMD is invariant to
    # the order), so clean-fid's KID and torchmetrics' KID are the same number.
    rng = np.random.default_rng(3)
    generated, reference = rng.standard_normal((200, 32)), 0.2 + rng.standard_normal((200, 32))
    metric = kid(generated, reference, num_subsets=3, max_subset_size=200)
    torchmetrics_kid = KernelInceptionDistance(feature=_Passthrough(32), subsets=2,
                                               subset_size=200)
    torchmetrics_kid.update(torch.from_numpy(reference), real=True)
    torchmetrics_kid.update(torch.from_numpy(generated), real=False)
    expected, _ = torchmetrics_kid.compute()
    assert metric.value == pytest.approx(float(expected), rel=1e-9)
    assert metric.n == 200


def test_kid_of_equal_whole_sets_takes_one_draw_and_matches_clean_fid_defaults():
    from cleanfid.fid import kernel_distance

    rng = np.random.default_rng(4)
    generated, reference = rng.standard_normal((300, 16)), 0.3 + rng.standard_normal((300, 16))
    np.random.seed(0)
    expected = kernel_distance(generated, reference, num_subsets=100, max_subset_size=1000)
    assert kid(generated, reference).value == pytest.approx(expected, rel=1e-9)


def test_kid_of_equal_whole_sets_has_a_bootstrap_interval_that_narrows_with_n():
    # KID +- 1.96 se over item draws: seeded, around the value, narrower with 4x the items;
    # none where clean-fid averages random subsets (sets of unequal size), as before.
    rng = np.random.default_rng(5)
    generated, reference = rng.standard_normal((800, 16)), 0.3 + rng.standard_normal((800, 16))
    small, large = kid(generated[:200], reference[:200]), kid(generated, reference)
    for metric in (small, large):
        assert metric.ci_low < metric.value < metric.ci_high
        assert metric.value - metric.ci_low == pytest.approx(metric.ci_high - metric.value)
    assert large.ci_high - large.ci_low < 0.75 * (small.ci_high - small.ci_low)
    assert kid(generated[:200], reference[:200]) == small
    assert kid(generated[:200], reference[:300]).ci_low is None


def test_kid_is_seeded_and_leaves_the_global_rng_alone(feature_sets):
    generated, reference = feature_sets
    np.random.seed(123)
    state = np.random.get_state()
    first = kid(generated, reference, seed=5, num_subsets=10, max_subset_size=100)
    after = np.random.get_state()
    assert all(np.array_equal(x, y) for x, y in zip(state, after, strict=True))
    assert kid(generated, reference, seed=5, num_subsets=10, max_subset_size=100) == first
    assert kid(generated, reference, seed=6, num_subsets=10, max_subset_size=100) != first


def test_kid_is_near_zero_for_one_distribution_and_positive_for_shifted_ones():
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((500, 64)), rng.standard_normal((500, 64))
    same = kid(a, b, num_subsets=20, max_subset_size=250).value
    shifted = kid(a, b + 0.5, num_subsets=20, max_subset_size=250).value
    assert shifted > 0.1
    assert abs(same) < 0.02 * shifted


def test_clean_image_features_through_a_lossless_folder_equal_what_the_judge_sees(scenes):
    judge = _untrained_judge("image", scenes)
    features = clean_image_features(scenes.images, judge_image_extractor(judge),
                                    resize=judge_resize(judge), batch_size=5)
    # 12 images: "10.npy" would sort before "2.npy" without zero padding.
    np.testing.assert_allclose(features, judge.features(scenes.images).numpy(), rtol=0, atol=1e-6)


def test_images_at_the_judge_size_skip_the_folder_with_the_same_features_bit_for_bit(
        scenes, monkeypatch):
    from metrics.evaluators import image_features

    judge = _untrained_judge("image", scenes)
    extractor, resize = judge_image_extractor(judge), judge_resize(judge)
    side = judge.shape_args["image_size"]
    assert scenes.images.shape[1:3] == (side, side)
    through_folder = clean_image_features(scenes.images, extractor, resize=resize, batch_size=5)

    def no_folder(*args, **kwargs):
        raise AssertionError("the folder route was taken")

    monkeypatch.setattr(image_features, "get_folder_features", no_folder)
    direct = clean_image_features(scenes.images, extractor, resize=resize, native_side=side,
                                  batch_size=5)
    np.testing.assert_array_equal(direct, through_folder)
    with pytest.raises(AssertionError, match="folder route"):  # another size: the folder
        clean_image_features(scenes.images, extractor, resize=resize, native_side=side + 1)


def test_clean_image_features_default_is_the_clean_299_resize_in_0_255(scenes):
    def size_and_mean(images: torch.Tensor) -> torch.Tensor:
        side = torch.full((len(images),), float(images.shape[-1]))
        return torch.stack([side, images.mean(dim=(1, 2, 3))], dim=1)

    images = scenes.images[:3]
    features = clean_image_features(images, size_and_mean)
    np.testing.assert_array_equal(features[:, 0], 299.0)
    # Bicubic upsampling keeps the mean brightness (on the 0..255 scale) to within a level.
    np.testing.assert_allclose(features[:, 1], images.mean(axis=(1, 2, 3)), atol=1.0)


def test_clean_image_features_rejects_non_uint8_images():
    with pytest.raises(ValueError, match="uint8"):
        clean_image_features(np.zeros((2, 8, 8, 3), np.float32), lambda x: x)


def test_inception_extractor_names_the_missing_file_and_where_to_get_it(tmp_path):
    with pytest.raises(UserError, match=INCEPTION_FILE.default) as error:
        inception_extractor(tmp_path / INCEPTION_FILE.default)
    assert "https://nvlabs-fi-cdn.nvidia.com" in str(error.value)
    other = tmp_path / "inception.pt"
    other.write_bytes(b"")
    with pytest.raises(UserError, match=f"rename .* to .*{INCEPTION_FILE.default}"):
        inception_extractor(other)


def test_fad_on_audio_judge_features(scenes):
    judge = _untrained_judge("audio", scenes)
    features = judge_audio_features(judge, scenes.audio)
    np.testing.assert_array_equal(features, judge.features(scenes.audio).numpy())
    assert features.shape == (len(scenes.audio), 128)
    assert fad(features, features).value == pytest.approx(0.0, abs=1e-6)
    metric = fad(features[:6], features[6:])
    assert metric.n == 6 and metric.value == pytest.approx(frechet_distance(features[:6],
                                                                            features[6:]))
    with pytest.raises(ValueError, match="audio judge"):
        judge_audio_features(_untrained_judge("image", scenes), scenes.audio)


def test_frechet_interval_brackets_the_value_and_narrows_with_n():
    rng = np.random.default_rng(3)
    widths = []
    for n in (200, 1600):
        generated = rng.standard_normal((n, 8)) + 0.5
        reference = rng.standard_normal((n, 8))
        metric = frechet_metric(generated, reference, seed=0, resamples=60)
        assert metric.n == n
        assert metric.ci_low <= metric.value <= metric.ci_high
        widths.append(metric.ci_high - metric.ci_low)
    assert widths[1] < 0.6 * widths[0]


def test_frechet_interval_is_deterministic_for_a_seed():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((300, 4)), rng.standard_normal((300, 4)) + 0.3
    first = frechet_metric(a, b, seed=1, resamples=30)
    assert first == frechet_metric(a, b, seed=1, resamples=30)
    assert first != frechet_metric(a, b, seed=2, resamples=30)


def test_fd_infinity_recovers_the_intercept_of_a_plus_b_over_n():
    """(e) On exact FD(n) = a + b/n the fit returns a and b with R^2 = 1; with noise on the
    values, a within the noise."""
    from metrics.frechet import fit_inverse_size

    sizes = np.linspace(200, 1000, 10)
    fit = fit_inverse_size(sizes, 3.5 + 420.0 / sizes)
    assert (fit.intercept, fit.slope, fit.r2) == pytest.approx((3.5, 420.0, 1.0))
    noisy = 3.5 + 420.0 / sizes + np.random.default_rng(0).normal(0, 0.01, len(sizes))
    noisy_fit = fit_inverse_size(sizes, noisy)
    assert noisy_fit.intercept == pytest.approx(3.5, abs=0.05) and noisy_fit.r2 > 0.99


def test_fd_infinity_is_closer_to_the_true_distance_than_fd_at_n():
    """Two Gaussians with a known FD (means 0.5 apart in 16 dimensions: FD = 16 * 0.25 = 4,
    equal covariances): FD at n = 300 is biased upwards by the covariance estimates, FD_inf
    removes most of that bias."""
    from metrics.frechet import fd_infinity

    rng = np.random.default_rng(1)
    a, b = rng.normal(0.5, 1.0, (300, 16)), rng.normal(0.0, 1.0, (300, 16))
    at_n = frechet_distance(a, b)
    extrapolated = fd_infinity(a, b, seed=0)
    assert extrapolated["sizes"][0] == 60 and extrapolated["sizes"][-1] == 300
    assert abs(extrapolated["value"] - 4.0) < abs(at_n - 4.0)


def test_fd_replicates_rooted_on_the_shared_reference_equal_the_generated_sides_route():
    rng = np.random.default_rng(3)
    reference = rng.standard_normal((200, 16))
    draws = rng.integers(0, 200, size=(7, 200))
    for shift in (0.0, 0.5, 0.0):  # methods of one column: the later ones reuse the side
        generated = shift + 1.3 * rng.standard_normal((200, 16))
        expected = [frechet_distance_by_eigenvalues(*gaussian_statistics(generated[rows]),
                                                    *gaussian_statistics(reference[rows]))
                    for rows in draws]
        np.testing.assert_allclose(frechet_from_features(generated, reference, draws),
                                   expected, rtol=1e-10)
    other = reference + 1.0  # another reference on the same draws is not mistaken for it
    np.testing.assert_allclose(
        frechet_from_features(generated, other, draws),
        [frechet_distance_by_eigenvalues(*gaussian_statistics(generated[rows]),
                                         *gaussian_statistics(other[rows])) for rows in draws],
        rtol=1e-10)

"""Alignment metrics against hand-computed values and direct per-pair formulas."""

import numpy as np
import pytest
import torch

import metrics.alignment as alignment
from benchmark.core.errors import UserError
from metrics.alignment import ais, clap_score, clip_score, paired_cosine, retrieval_at_1

S = 1 / np.sqrt(2)

# AIS case: 4 items in 2-D. Counterparts normalize to u1=(1,0), u2=(0,1), u3=(-1,0),
# u4=(s,s); generated rows normalize to g1=(1,0), g2=(1,0), g3=(0,-1), g4=(-1,0).
COUNTERPARTS = np.array([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0], [1.0, 1.0]])
GENERATED = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, -2.0], [-1.0, 0.0]])
# <g_i, u_j> rows i, columns j (true pair on the diagonal):
#   g1: [ 1,  0, -1,  s]  true 1:  0, -1, s below         -> 3/3
#   g2: [ 1,  0, -1,  s]  true 0:  -1 below; 1, s not      -> 1/3
#   g3: [ 0, -1,  0, -s]  true 0:  -1, -s below; 0 is a tie -> 2/3
#   g4: [-1,  0,  1, -s]  true -s: -1 below; 0, 1 not      -> 1/3
AIS_PER_SAMPLE = 100 * np.array([3 / 3, 1 / 3, 2 / 3, 1 / 3])


def test_ais_matches_the_hand_computation_and_ties_do_not_count():
    value = ais(GENERATED, COUNTERPARTS)
    np.testing.assert_allclose(value.per_sample, AIS_PER_SAMPLE)
    assert value.value == pytest.approx(175 / 3)
    assert value.n == 4
    assert value.ci_low <= value.value <= value.ci_high


def test_ais_is_unchanged_by_row_blocking(monkeypatch):
    rng = np.random.default_rng(0)
    g, c = rng.normal(size=(11, 5)), rng.normal(size=(11, 5))
    whole = ais(g, c).per_sample
    monkeypatch.setattr(alignment, "_ROWS_PER_BLOCK", 3)
    np.testing.assert_array_equal(ais(g, c).per_sample, whole)


def test_ais_of_identical_sides_with_distinct_directions_is_100():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 8))
    assert ais(x, x).value == pytest.approx(100.0)


def test_ais_needs_a_pool():
    with pytest.raises(UserError):
        ais(np.ones((1, 2)), np.ones((1, 2)))


def test_clip_clamps_negative_cosines_and_clap_does_not():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    b = np.array([[3.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # cosines 1, s, -1
    np.testing.assert_allclose(clip_score(a, b).per_sample, [100, 100 * S, 0])
    np.testing.assert_allclose(clap_score(a, b).per_sample, [100, 100 * S, -100])


def test_scores_equal_the_per_pair_formula():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(50, 16)), rng.normal(size=(50, 16))
    cosine = torch.nn.functional.cosine_similarity(torch.from_numpy(a), torch.from_numpy(b))
    np.testing.assert_allclose(paired_cosine(a, b), cosine.numpy())
    clip, clap = clip_score(a, b, seed=3), clap_score(a, b, seed=3)
    assert clip.value == pytest.approx(float((100 * cosine.clamp(min=0)).mean()))
    assert clap.value == pytest.approx(float((100 * cosine).mean()))
    assert clap.value < clip.value  # random pairs have negative cosines that clip drops
    for score in (clip, clap):
        assert score.n == 50
        assert score.ci_low < score.value < score.ci_high


def test_retrieval_at_1_counts_attribute_level_hits():
    queries = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    candidates = np.array([[1.0, 0.1], [0.0, 2.0], [-1.0, 0.0]])
    query_labels = np.array([[0, 0], [1, 1], [0, 0]])
    # q1 -> k1 (same labels: hit); q2 -> k2 (labels differ in one column: miss);
    # q3 -> k3 (a different item than q1's, but the same labels: hit).
    candidate_labels = np.array([[0, 0], [1, 0], [0, 0]])
    value = retrieval_at_1(queries, candidates, query_labels, candidate_labels)
    np.testing.assert_array_equal(value.per_sample, [1, 0, 1])
    assert value.value == pytest.approx(2 / 3)
    assert value.ci_low <= value.value <= value.ci_high

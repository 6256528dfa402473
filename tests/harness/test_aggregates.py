"""Aggregates across tasks: normalized scores, IQM, stratified bootstrap, probability of
improvement, performance profiles, ranks and the report's tables, against known truths."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmark.report.aggregate import RESULT_COLUMNS
from benchmark.verdicts.aggregates import (
    aggregable_metrics,
    aggregate_tables,
    iqm,
    normalized_scores,
    performance_profile,
    plot_critical_difference,
    plot_performance_profile,
    probability_of_improvement,
    rank_test,
    score_matrix,
    stratified_interval,
)

SUBJECT = {"text2image": "image", "audio2image": "image", "text2audio": "audio"}
EVALUATOR = "judge:scenes-v1"


def _rows(method, task, seed, metric, generated, oracle, chance):
    """The generated, oracle and chance rows of one run and one metric."""
    subject = SUBJECT[task]
    run_id = f"{method}-{task}-s{seed}"
    metric_id = f"{subject}.{metric}[{EVALUATOR}]"
    return [[run_id, method, task, seed, "suite", row, metric_id, subject, metric, EVALUATOR,
             value, 100, None, None]
            for row, value in (("generated", generated), ("oracle", oracle),
                               ("chance", chance))]


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame([r for group in rows for r in group], columns=RESULT_COLUMNS)


def test_iqm_is_the_quarter_trimmed_mean_of_all_entries():
    x = np.random.default_rng(1).normal(size=(5, 8))
    assert iqm(x) == pytest.approx(stats.trim_mean(x.ravel(), 0.25))
    assert iqm(np.arange(8.0).reshape(2, 4)) == pytest.approx(3.5)  # mean of 2, 3, 4, 5
    assert np.isnan(iqm(np.array([[0.0, np.nan]])))


def test_probability_of_improvement_is_mann_whitney_u_over_nm():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, size=(5, 1)).astype(float)  # small integers: ties
    y = rng.integers(0, 4, size=(4, 1)).astype(float)
    u = stats.mannwhitneyu(x[:, 0], y[:, 0]).statistic
    assert probability_of_improvement(x, y) == pytest.approx(u / (5 * 4))
    x3, y3 = rng.normal(size=(3, 3)), rng.normal(size=(6, 3))
    per_task = [stats.mannwhitneyu(x3[:, t], y3[:, t]).statistic / 18 for t in range(3)]
    assert probability_of_improvement(x3, y3) == pytest.approx(np.mean(per_task))
    assert probability_of_improvement(x3, y3) + probability_of_improvement(y3, x3) == (
        pytest.approx(1.0))


def test_probability_of_improvement_extremes():
    x = np.random.default_rng(3).normal(size=(4, 3))
    assert probability_of_improvement(x, x) == 0.5
    far = stratified_interval([x + 100, x], probability_of_improvement, resamples=50)
    assert (far.estimate, far.low, far.high) == (1.0, 1.0, 1.0)
    assert probability_of_improvement(x - 100, x) == 0.0


def test_the_bootstrap_resamples_runs_within_tasks():
    # Constant columns: any resample within a column is the column itself.
    constant = np.tile([[0.0, 1.0, 5.0]], (4, 1))
    interval = stratified_interval([constant], np.mean, resamples=200)
    assert (interval.estimate, interval.low, interval.high) == (2.0, 2.0, 2.0)
    # A resample pooling the tasks would move the IQM of these; within tasks it cannot.
    assert stratified_interval([constant], iqm, resamples=200).high == iqm(constant)


def test_the_bootstrap_is_seeded_and_brackets_the_estimate():
    x = np.random.default_rng(4).normal(size=(5, 4))
    first = stratified_interval([x], iqm, resamples=300, seed=7)
    assert first == stratified_interval([x], iqm, resamples=300, seed=7)
    assert first.low < first.estimate < first.high
    assert first != stratified_interval([x], iqm, resamples=300, seed=8)


def test_performance_profile_counts_scores_above_each_threshold():
    matrices = {"a": np.array([[0.0, 0.5], [1.0, 0.2]]), "b": np.full((2, 2), 0.7)}
    bands = performance_profile(matrices, np.array([0.1, 0.6]), resamples=100)
    np.testing.assert_allclose(bands["a"].estimate, [0.75, 0.25])
    np.testing.assert_allclose(bands["b"].estimate, [1.0, 1.0])
    np.testing.assert_allclose(bands["b"].low, [1.0, 1.0])  # constant: no spread
    assert (bands["a"].low <= bands["a"].estimate).all()
    assert (bands["a"].estimate <= bands["a"].high).all()


def _two_metric_frame():
    """attr_acc (higher is better; oracle 0.9, chance 0.2) and fid (lower is better; oracle
    0.3, chance 1.2) on two tasks; method "top" scores as the oracle, "low" as chance and
    "mid" halfway."""
    at = {"top": 0.9, "mid": 0.55, "low": 0.2}
    fid = {"top": 0.3, "mid": 0.75, "low": 1.2}
    return _frame(_rows(m, task, s, metric, values[m], oracle, chance)
                  for m in at for task in ("text2image", "audio2image") for s in (0, 1)
                  for metric, values, oracle, chance in (("attr_acc", at, 0.9, 0.2),
                                                         ("fid", fid, 0.3, 1.2)))


@pytest.mark.parametrize("metric", ["attr_acc", "fid"])
def test_normalized_scores_put_the_oracle_at_one_and_chance_at_zero(metric):
    scores = normalized_scores(_two_metric_frame(), metric)
    assert list(scores.columns) == ["method", "task", "seed", "score"]
    by_method = scores.groupby("method")["score"]
    np.testing.assert_allclose(by_method.min(), by_method.max())
    assert by_method.mean().to_dict() == pytest.approx({"top": 1.0, "mid": 0.5, "low": 0.0})


def test_tasks_without_a_usable_scale_are_left_out():
    frame = pd.concat([_two_metric_frame(),
                       _frame([_rows("top", "text2audio", 0, "attr_acc", 0.5, 0.4, 0.4)])])
    assert set(normalized_scores(frame, "attr_acc")["task"]) == {"text2image", "audio2image"}


def test_aggregable_metrics_need_oracle_better_than_chance_in_two_tasks():
    frame = _two_metric_frame()
    assert aggregable_metrics(frame) == ["attr_acc", "fid"]
    # fid's oracle worse than chance in one run of another task: fid is out.
    worse = _frame([_rows("top", "text2audio", 0, "fid", 1.0, 2.0, 1.0)])
    assert aggregable_metrics(pd.concat([frame, worse])) == ["attr_acc"]
    # A breakdown part takes its parent's direction; in one task only, it is out.
    part = _frame([_rows("top", "text2image", 0, "attr_acc_colour", 0.5, 0.9, 0.1)])
    assert aggregable_metrics(pd.concat([frame, part])) == ["attr_acc", "fid"]


def test_score_matrix_is_seeds_by_sorted_tasks_and_must_be_complete():
    scores = pd.DataFrame({"method": ["a"] * 4 + ["b"] * 2,
                           "task": ["t2", "t1", "t2", "t1", "t1", "t2"],
                           "seed": [1, 1, 0, 0, 5, 5],
                           "score": [4.0, 3.0, 2.0, 1.0, 7.0, 8.0]})
    matrices = score_matrix(scores)
    np.testing.assert_array_equal(matrices["a"], [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(matrices["b"], [[7.0, 8.0]])
    with pytest.raises(ValueError, match="tasks"):
        score_matrix(scores.iloc[:5])  # b lacks t2
    with pytest.raises(ValueError, match="one score per seed and task"):
        score_matrix(scores.drop(index=0))  # a lacks seed 1 of t2


def _ordered_matrices(rng):
    """Four methods on six tasks, best > good > fair > poor in every task."""
    base = rng.normal(size=(1, 6))
    return {name: base + offset + 0.01 * rng.normal(size=(3, 6))
            for name, offset in (("best", 3.0), ("good", 2.0), ("fair", 1.0), ("poor", 0.0))}


def test_rank_test_finds_a_method_best_on_every_task(tmp_path):
    result = rank_test(_ordered_matrices(np.random.default_rng(5)))
    assert result.average_ranks.to_dict() == {"best": 1.0, "fair": 3.0, "good": 2.0,
                                              "poor": 4.0}
    assert result.tasks == 6
    # Friedman: chi2 = 12 / (N k (k + 1)) sum_j R_j^2 - 3 N (k + 1), R_j the rank sums.
    assert result.statistic == pytest.approx(12 / (6 * 4 * 5) * 36 * 30 - 3 * 6 * 5)
    assert result.p_value < 0.001
    assert result.posthoc.loc["best", "poor"] < 0.05
    assert result.posthoc.loc["best", "good"] > 0.05
    path = plot_critical_difference(result, tmp_path / "cd.png", "ranks")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_performance_profile_plot_writes_a_png(tmp_path):
    thresholds = np.linspace(-1, 5, 25)
    bands = performance_profile(_ordered_matrices(np.random.default_rng(6)), thresholds,
                                resamples=50)
    path = plot_performance_profile(bands, thresholds, tmp_path / "profile.png")
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_aggregate_tables_read_the_known_scores():
    frame = pd.concat([_two_metric_frame(),
                       _frame([_rows(m, "text2audio", s, "fid", 1.0, 1.0, 1.0)
                               for m in ("top", "mid", "low") for s in (0, 1)])])
    summary, improvement = aggregate_tables(frame, "fid", resamples=50)
    assert summary.header == ["method", "IQM [95% CI]", "mean rank"]
    assert [[c.text for c in row] for row in summary.rows] == [
        ["low", "0.000 [0.000, 0.000]", "3.000"],
        ["mid", "0.500 [0.500, 0.500]", "2.000"],
        ["top", "1.000 [1.000, 1.000]", "1.000"]]
    assert improvement.header == ["P(row > column)", "low", "mid", "top"]
    assert [[c.text for c in row] for row in improvement.rows][2] == [
        "top", "1.000 [1.000, 1.000]", "1.000 [1.000, 1.000]", "–"]
    notes = " ".join(summary.notes)
    assert "tasks included: audio2image, text2image" in notes
    assert "left out (no usable oracle/chance, or oracle = chance): text2audio" in notes
    assert "Friedman χ² = 4.000" in notes and "over 2 tasks" in notes
    assert "50 resamples, seed 0" in " ".join(improvement.notes)

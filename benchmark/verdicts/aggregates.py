"""Aggregates across tasks in the manner of Agarwal et al. (2021), "Deep reinforcement
learning at the edge of the statistical precipice", written on scipy and scikit-posthocs.

Normalized score. For a run of method m on task t with seed s, a metric's value v and the
same run's oracle value o and chance value c (same metric id) give
    score = (v - c) / (o - c),
so 1 is the oracle and 0 is chance whichever way the metric points (the direction sits in
the ratio). A method's scores form a matrix X_m of shape [runs (seeds), tasks].

Interquartile mean. IQM(X) = the mean of the middle half of all entries of X (the lowest
and highest 25% cut: ``scipy.stats.trim_mean(X.ravel(), 0.25)``).

Stratified bootstrap. A replicate draws, independently within each task (column) and for
each matrix, as many runs (rows) as the column has, with replacement; the statistic of the
replicates gives the percentile interval [q_{a/2}, q_{1-a/2}], a = 1 - confidence. The
point estimate is the statistic of the data themselves. A fixed seed makes it repeatable.

Probability of improvement. For X [n, T] and Y [m, T],
    P(X > Y) = (1/T) sum_t (1/(n m)) sum_i sum_j ( [x_it > y_jt] + 1/2 [x_it = y_jt] ),
per task the Mann-Whitney U of X's column against Y's divided by n m.

Performance profile. F_m(tau) = the fraction of X_m's entries (runs x tasks) above tau.

Ranks. Per task, the mean over seeds of each method's score; methods ranked within the task
(1 = highest, ties averaged); the average rank over tasks; Friedman's test of equal ranks
over the tasks and Nemenyi's post-hoc p-values for each pair (Demsar 2006).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmark.core.errors import UserError
from benchmark.report.aggregate import higher_is_better
from benchmark.report.tables import Cell, Table

REFERENCES = ("oracle", "chance")
RESAMPLES = 2000
SEED = 0
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate and its stratified-bootstrap percentile interval."""

    estimate: float
    low: float
    high: float

    def text(self) -> str:
        """``0.730 [0.610, 0.850]``."""
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class Band:
    """A curve (one value per threshold) and its pointwise bootstrap interval."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class RankTest:
    """Average ranks over tasks (1 = best), Friedman's test and Nemenyi's p-values."""

    average_ranks: pd.Series
    statistic: float
    p_value: float
    posthoc: pd.DataFrame
    tasks: int


def _with_references(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The generated rows of bare metric name ``metric``, each with its run's ``oracle`` and
    ``chance`` values of the same metric id (NaN where the run has none)."""
    rows = frame[frame["metric"] == metric]
    generated = rows[rows["row"] == "generated"]
    references = (rows[rows["row"].isin(REFERENCES)]
                  .set_index(["run_id", "metric_id", "row"])["value"].unstack("row")
                  .reindex(columns=list(REFERENCES)).reset_index())
    references.columns.name = None
    return generated.merge(references, on=["run_id", "metric_id"], how="left")


def _finite(values: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(values.to_numpy(dtype=float)), index=values.index)


def normalized_scores(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Columns ``method, task, seed, score``: per generated row of bare metric name
    ``metric``, score = (value - chance) / (oracle - chance) with the same run's oracle and
    chance values of the same metric id. A task is left out where any of its runs lacks a
    finite oracle or chance value, or has oracle == chance. A non-finite generated value
    gives a NaN score (kept: a failed run is not dropped). Sorted by method, task, seed."""
    rows = _with_references(frame, metric)
    usable = (_finite(rows["oracle"]) & _finite(rows["chance"])
              & (rows["oracle"] != rows["chance"]))
    kept = usable.groupby(rows["task"]).transform("all").astype(bool)
    rows = rows[kept]
    scores = (rows["value"] - rows["chance"]) / (rows["oracle"] - rows["chance"])
    result = rows[["method", "task", "seed"]].assign(score=scores.astype(float))
    return result.sort_values(["method", "task", "seed"], kind="mergesort").reset_index(
        drop=True)


def _higher_is_better(metric: str) -> bool | None:
    """The direction of a bare metric name (``metrics.spec_of``: a breakdown part
    ``attr_acc_colour`` takes its parent's), or None for a name no spec is behind."""
    try:
        return higher_is_better(metric)
    except UserError:
        return None


def aggregable_metrics(frame: pd.DataFrame) -> list[str]:
    """The bare metric names (sorted) whose scores can be put on one scale across tasks:
    every task with generated rows of the metric has one metric id for it, and in each of
    its runs the oracle is better than chance (o > c, or o < c where lower is better); and
    at least 2 tasks have it. A breakdown part (``attr_acc_colour``) takes its parent's
    direction; a name of unknown direction is left out."""
    names = []
    for metric in sorted(frame.loc[frame["row"] == "generated", "metric"].unique()):
        direction = _higher_is_better(metric)
        if direction is None:
            continue
        rows = _with_references(frame, metric)
        one_id = (rows.groupby("task")["metric_id"].nunique() == 1).all()
        better = (rows["oracle"] - rows["chance"]) * (1.0 if direction else -1.0) > 0
        if one_id and better.all() and rows["task"].nunique() >= 2:
            names.append(metric)
    return names


def score_matrix(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    """Method -> its scores as an array [seeds (sorted), tasks (sorted)], from the columns
    ``method, task, seed, score``. Raises ValueError unless every method has the same tasks
    and exactly one score for each of its seeds in each task."""
    tasks = sorted(scores["task"].unique())
    matrices = {}
    for method, group in scores.groupby("method", sort=True):
        if sorted(group["task"].unique()) != tasks:
            raise ValueError(f"{method} has tasks {sorted(group['task'].unique())}, "
                             f"others have {tasks}")
        counts = group.groupby(["seed", "task"]).size().unstack("task")
        if counts.isna().to_numpy().any() or (counts.to_numpy() != 1).any():
            raise ValueError(f"{method}: not exactly one score per seed and task "
                             f"(seeds x tasks counts:\n{counts})")
        grid = group.set_index(["seed", "task"])["score"].unstack("task")
        matrices[str(method)] = grid.sort_index().reindex(columns=tasks).to_numpy(dtype=float)
    return matrices


def iqm(x: np.ndarray) -> float:
    """The interquartile mean of all entries: the mean after cutting the lowest and highest
    25% (``scipy.stats.trim_mean(x.ravel(), 0.25)``); NaN if any entry is NaN."""
    values = np.ravel(x)
    if np.isnan(values).any():
        return float("nan")
    return float(stats.trim_mean(values, 0.25))


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) for score matrices x [n, T] and y [m, T]: per task the fraction of pairs
    (i, j) with x_it > y_jt, ties counted 1/2 (the Mann-Whitney U of x's column against
    y's over n m), averaged over tasks. 0.5 for x == y; NaN if any entry is NaN."""
    if np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    left, right = x[:, None, :], y[None, :, :]
    per_task = ((left > right).mean(axis=(0, 1)) + 0.5 * (left == right).mean(axis=(0, 1)))
    return float(per_task.mean())


def _replicates(matrices: Sequence[np.ndarray], statistic: Callable[..., float | np.ndarray],
                resamples: int, seed: int) -> np.ndarray:
    """The statistic of ``resamples`` stratified resamples: each matrix's rows drawn with
    replacement within each column, independently per column and per matrix."""
    rng = np.random.default_rng(seed)
    samples = []
    for matrix in matrices:
        runs, tasks = matrix.shape
        rows = rng.integers(0, runs, size=(resamples, runs, tasks))
        samples.append(matrix[rows, np.arange(tasks)])  # [resamples, runs, tasks]
    return np.array([statistic(*(sample[r] for sample in samples)) for r in range(resamples)],
                    dtype=float)


def _percentiles(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = 100 * (1 - confidence) / 2
    low, high = np.percentile(replicates, [alpha, 100 - alpha], axis=0)
    return low, high


def stratified_interval(matrices: Sequence[np.ndarray], statistic: Callable[..., float],
                        resamples: int = RESAMPLES, seed: int = SEED,
                        confidence: float = CONFIDENCE) -> Interval:
    """``statistic(*matrices)`` and its percentile interval over ``resamples`` stratified
    bootstrap replicates (runs resampled within each task, per matrix), seeded by ``seed``.
    E.g. ``stratified_interval([x], iqm)`` or ``([x, y], probability_of_improvement)``."""
    low, high = _percentiles(_replicates(matrices, statistic, resamples, seed), confidence)
    return Interval(float(statistic(*matrices)), float(low), float(high))


def performance_profile(matrices: Mapping[str, np.ndarray], thresholds: np.ndarray,
                        resamples: int = RESAMPLES, seed: int = SEED,
                        confidence: float = CONFIDENCE) -> dict[str, Band]:
    """Method -> F(tau) = fraction of its runs x tasks scores above tau, for each tau in
    ``thresholds``, with a pointwise stratified-bootstrap band (each method resampled on
    its own, with the same ``seed``)."""
    taus = np.asarray(thresholds, dtype=float)

    def profile(x: np.ndarray) -> np.ndarray:
        return (x.ravel()[:, None] > taus[None, :]).mean(axis=0)

    bands = {}
    for method, matrix in matrices.items():
        low, high = _percentiles(_replicates([matrix], profile, resamples, seed), confidence)
        bands[method] = Band(profile(matrix), low, high)
    return bands


def plot_performance_profile(bands: Mapping[str, Band], thresholds: np.ndarray, path: Path,
                             title: str = "Performance profile") -> Path:
    """One line (F(tau)) and shaded band per method against the thresholds, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    from benchmark.report.plots import method_palette

    colours = method_palette(bands)
    figure, axis = plt.subplots(figsize=(5.5, 3.6))
    for method in sorted(bands):
        band = bands[method]
        axis.plot(thresholds, band.estimate, label=method, color=colours[method])
        axis.fill_between(thresholds, band.low, band.high, color=colours[method], alpha=0.2,
                          linewidth=0)
    axis.set_xlabel("normalized score τ (0 = chance, 1 = oracle)")
    axis.set_ylabel("fraction of runs with score > τ")
    axis.set_ylim(-0.02, 1.02)
    axis.set_title(title)
    axis.legend(frameon=False, fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def rank_test(matrices: Mapping[str, np.ndarray]) -> RankTest:
    """Per task each method's mean score over seeds, ranked within the task (1 = highest,
    ties averaged); the average rank per method (sorted by name); Friedman's chi-square and
    p over the tasks (NaN with fewer than 3 methods, where the test is undefined); Nemenyi's
    post-hoc p-values (methods x methods) on the tasks x methods block of means."""
    import scikit_posthocs

    methods = sorted(matrices)
    if len(methods) < 2:
        raise ValueError(f"ranks need at least 2 methods, got {methods}")
    block = np.column_stack([matrices[m].mean(axis=0) for m in methods])  # [tasks, methods]
    ranks = stats.rankdata(-block, axis=1, method="average")
    average = pd.Series(ranks.mean(axis=0), index=methods, name="average rank")
    statistic = p_value = float("nan")
    if len(methods) >= 3:
        result = stats.friedmanchisquare(*block.T)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    posthoc = scikit_posthocs.posthoc_nemenyi_friedman(pd.DataFrame(block, columns=methods))
    return RankTest(average, statistic, p_value, posthoc, block.shape[0])


def plot_critical_difference(result: RankTest, path: Path, title: str) -> Path:
    """The critical-difference diagram: average ranks on an axis, methods whose Nemenyi
    p-value is >= 0.05 joined by a bar (each method in its report colour); a PNG. The
    methods go to scikit-posthocs as their positions (it keeps them in sets, and an int's
    set order, unlike a string's, does not change between interpreter runs: the file is
    the same every time) and their names are written into the labels afterwards."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import scikit_posthocs

    from benchmark.report.plots import method_palette

    names = list(result.average_ranks.index)
    colours = method_palette(names)
    positions = range(len(names))
    ranks = pd.Series(result.average_ranks.to_numpy(), index=positions)
    posthoc = pd.DataFrame(result.posthoc.loc[names, names].to_numpy(), index=positions,
                           columns=positions)
    figure, axis = plt.subplots(figsize=(6, 0.6 + 0.35 * len(names)))
    artists = scikit_posthocs.critical_difference_diagram(
        ranks, posthoc, ax=axis, alpha=0.05, label_fmt_left="{label}",
        label_fmt_right="{label}", color_palette={i: colours[n] for i, n in enumerate(names)})
    for label in artists["labels"]:
        position = int(label.get_text())
        name, rank = names[position], ranks[position]
        label.set_text(f"{name} ({rank:.2g})" if label.get_ha() == "right"
                       else f"({rank:.2g}) {name}")
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _p_text(p: float) -> str:
    """``p = 0.012``, or ``p < 0.001``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def aggregate_tables(frame: pd.DataFrame, metric: str, resamples: int = RESAMPLES,
                     seed: int = SEED) -> list[Table]:
    """Two report tables for bare metric name ``metric``, normalized per run: (1) per method
    the IQM over tasks x seeds with its 95% stratified-bootstrap interval, and the average
    rank; (2) P(row > column) with its interval for each ordered pair of methods."""
    scores = normalized_scores(frame, metric)
    matrices = score_matrix(scores)
    methods = sorted(matrices)
    tasks = sorted(scores["task"].unique())
    present = frame.loc[(frame["row"] == "generated") & (frame["metric"] == metric), "task"]
    left_out = sorted(set(present) - set(tasks))
    ranks = rank_test(matrices) if len(methods) >= 2 else None

    summary = []
    for method in methods:
        interval = stratified_interval([matrices[method]], iqm, resamples, seed)
        rank = "–" if ranks is None else f"{ranks.average_ranks[method]:.3f}"
        summary.append([Cell(method), Cell(interval.text()), Cell(rank)])
    improvement = []
    for row in methods:
        cells = [Cell(row)]
        for column in methods:
            if row == column:
                cells.append(Cell("–"))
            else:
                pair = [matrices[row], matrices[column]]
                cells.append(Cell(stratified_interval(pair, probability_of_improvement,
                                                      resamples, seed).text()))
        improvement.append(cells)

    scale = (f"score = (value − chance)/(oracle − chance) of {metric}, per run against the "
             "same run's oracle and chance rows: 1 = oracle, 0 = chance.")
    coverage = f"tasks included: {', '.join(tasks)}" + (
        f"; left out (no usable oracle/chance, or oracle = chance): {', '.join(left_out)}"
        if left_out else "")
    bootstrap = (f"95% intervals: stratified bootstrap (runs resampled within each task), "
                 f"{resamples} resamples, seed {seed}.")
    notes = [scale, f"IQM: mean of the middle 50% of all tasks × seeds scores. {bootstrap}"]
    if ranks is not None:
        notes.append("mean rank: per task, methods ranked by their mean score over seeds "
                     "(1 = best, ties averaged), averaged over tasks.")
    if ranks is not None and len(methods) >= 3:
        different = [f"{a} vs {b} ({_p_text(ranks.posthoc.loc[a, b])})"
                     for i, a in enumerate(methods) for b in methods[i + 1:]
                     if ranks.posthoc.loc[a, b] < 0.05]
        notes.append(f"Friedman χ² = {ranks.statistic:.3f}, {_p_text(ranks.p_value)} "
                     f"over {ranks.tasks} tasks; Nemenyi post-hoc pairs with p < 0.05: "
                     + (", ".join(different) if different else "none") + ".")
    notes.append(coverage)
    pair_notes = [scale, "P(A > B): per task, the Mann–Whitney U of A's runs against B's "
                  "over n·m (ties count 1/2), averaged over tasks; 0.5 = no difference. "
                  + bootstrap, coverage]
    return [
        Table(f"Across tasks: normalized {metric}", ["method", "IQM [95% CI]", "mean rank"],
              summary, notes),
        Table(f"Across tasks: probability of improvement, normalized {metric}",
              ["P(row > column)", *methods], improvement, pair_notes),
    ]

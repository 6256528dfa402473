"""Every pair of methods on one (task, metric), and a table's family of them, corrected.

For a column (task t, metric id k) with methods M, every unordered pair {A, B} of M gets
the paired two-level bootstrap comparison of benchmark/verdicts/paired.py, on item draws
shared by all the column's runs. A table holds many columns, so its comparisons are one
family: Holm's step-down method (statsmodels ``multipletests(method="holm")``) controls
the chance of any false "real difference" in the table at 5%. Read per column:

    best     the method with the best mean differs from every other method, after the
             correction, in its favour (the report bolds it)
    tied     not distinguishable from the best mean after the correction ("≈ best"),
             the best-mean method itself included, when no method is best

A column of Fréchet values (FID, FAD, emb_fd) whose runs were scored at different n is not
ranked: their bias differs with n (metrics/frechet.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from benchmark.core.errors import UserError
from benchmark.results.records import RunRecord
from benchmark.verdicts.paired import (
    RESAMPLES,
    SET_RESAMPLES,
    PairedDifference,
    item_draws,
    minimum_detectable_difference,
    paired_difference,
)
from benchmark.verdicts.run_scores import NotComparable, RunScores, load_run_scores
from metrics import spec_of
from metrics.spec import parse_metric_id

FRECHET_METRICS = ("fid", "fad", "emb_fd")


@dataclass(frozen=True)
class Comparison:
    """A minus B on one column; ``p_adjusted`` once its family is corrected."""

    task: str
    metric_id: str
    method_a: str
    method_b: str
    result: PairedDifference
    p_adjusted: float | None = None

    @property
    def minimum_detectable(self) -> float:
        """The difference this design detects with 80% power at 5% (uncorrected)."""
        return minimum_detectable_difference(self.result.se, self.result.df)


@dataclass
class Column:
    """One (task, metric id): its methods' comparisons, or why it has none."""

    task: str
    metric_id: str
    means: dict[str, float]
    comparisons: list[Comparison] = field(default_factory=list)
    untested: str | None = None

    @property
    def higher_is_better(self) -> bool:
        return spec_of(parse_metric_id(self.metric_id)[1]).higher_is_better

    def marks(self, level: float = 0.05) -> dict[str, str]:
        """``{method: "best" | "tied"}`` read from the corrected p-values (module doc)."""
        if self.untested is not None or len(self.means) < 2:
            return {}
        sign = 1.0 if self.higher_is_better else -1.0
        leader = max(self.means, key=lambda m: sign * self.means[m])
        beaten, tied = [], [leader]
        for comparison in self.comparisons:
            if leader not in (comparison.method_a, comparison.method_b):
                continue
            other = comparison.method_b if comparison.method_a == leader else comparison.method_a
            toward_leader = comparison.result.difference * (
                1.0 if comparison.method_a == leader else -1.0) * sign > 0
            if comparison.p_adjusted < level and toward_leader:
                beaten.append(other)
            else:
                tied.append(other)
        if len(beaten) == len(self.means) - 1:
            return {leader: "best"}
        return {method: "tied" for method in tied}

    def minimum_detectable(self) -> float | None:
        """The median over the column's pairs of the minimum detectable difference."""
        values = [c.minimum_detectable for c in self.comparisons]
        return float(np.median(values)) if values else None


def column_runs(records: Sequence[RunRecord], task: str, metric_id: str
                ) -> dict[str, list[RunRecord]]:
    """The column's ok runs by method (sorted by seed), those that scored the metric."""
    runs: dict[str, list[RunRecord]] = {}
    for record in sorted(records, key=lambda r: (r.method, r.seed)):
        if record.task == task and metric_id in record.metrics:
            runs.setdefault(record.method, []).append(record)
    return runs


_COMPARED: dict[tuple, Column] = {}
"""Columns compared in this process, by results folder, task, metric id, runs and seed.
Records are never rewritten (benchmark/results/records.py), so the same runs give the same
column: a report, the README or a claim that needs a column again reuses it."""


def compare_column(results_dir: Path, records: Sequence[RunRecord], task: str,
                   metric_id: str, *, seed: int = 0, strict: bool = False) -> Column:
    """Every pair of the column's methods (module doc), uncorrected. What stops a column
    (no stored features, different test sets, Fréchet values at different n, seeds
    missing for one method) is kept as ``untested``, or raised as a UserError when
    ``strict``."""
    runs = tuple(sorted(r.run_id for r in records if r.task == task and metric_id in r.metrics))
    key = (str(results_dir.resolve()), task, metric_id, runs, seed)
    if key not in _COMPARED:
        _COMPARED[key] = _compare_column(results_dir, records, task, metric_id, seed)
    column = _COMPARED[key]
    if strict and column.untested is not None:
        raise UserError(column.untested)
    return replace(column, means=dict(column.means), comparisons=list(column.comparisons))


def _compare_column(results_dir: Path, records: Sequence[RunRecord], task: str,
                    metric_id: str, seed: int) -> Column:
    runs = column_runs(records, task, metric_id)
    means = {m: float(np.mean([r.metrics[metric_id]["value"] for r in group]))
             for m, group in runs.items()}
    column = Column(task, metric_id, means)
    try:
        scores = {m: [load_run_scores(results_dir, r, metric_id) for r in group]
                  for m, group in runs.items()}
        _require_comparable(task, metric_id, runs, scores)
    except UserError as error:
        column.untested = str(error)
        return column
    items = next(iter(scores.values()))[0].items
    set_metric = spec_of(parse_metric_id(metric_id)[1]).from_features is not None
    draws = item_draws(items, SET_RESAMPLES if set_metric else RESAMPLES, seed)
    replicates = {m: np.stack([s.values_on(draws) for s in group])
                  for m, group in scores.items()}
    observed = {m: [s.observed() for s in group] for m, group in scores.items()}
    for a, b in itertools.combinations(sorted(scores), 2):
        result = paired_difference(observed[a], observed[b], replicates[a], replicates[b],
                                   items=items, seed=seed)
        column.comparisons.append(Comparison(task, metric_id, a, b, result))
    return column


def _require_comparable(task: str, metric_id: str, runs: dict[str, list[RunRecord]],
                        scores: dict[str, list[RunScores]]) -> None:
    """UserError when the column's runs cannot be compared (module doc)."""
    if len(runs) < 2:
        raise NotComparable(f"{task} {metric_id}: fewer than two methods scored it")
    test_sets = {s.test_set for group in scores.values() for s in group}
    counts = {s.items for group in scores.values() for s in group}
    if len(test_sets) > 1 or len(counts) > 1:
        raise UserError(f"{task} {metric_id}: the runs were scored on different test sets "
                        f"({len(test_sets)} sets, items {sorted(counts)}): compare runs of "
                        "one dataset and test split")
    seeds = {m: tuple(r.seed for r in group) for m, group in runs.items()}
    if len(set(seeds.values())) > 1:
        most = max(seeds.values(), key=len)
        short = sorted(m for m, s in seeds.items() if set(s) != set(most))
        raise UserError(f"{task} {metric_id}: seeds missing for {', '.join(short)} "
                        f"({'; '.join(f'{m}: {list(seeds[m])}' for m in short)}; others "
                        f"have {list(most)}): run the missing seeds, or compare with --seeds")
    if parse_metric_id(metric_id)[1] in FRECHET_METRICS:
        ns = {r.metrics[metric_id]["n"] for group in runs.values() for r in group}
        if len(ns) > 1:
            raise UserError(f"{task} {metric_id}: Fréchet values at different n "
                            f"({sorted(ns)}) are not ranked: their bias depends on n")


def holm(columns: Sequence[Column]) -> int:
    """Correct the comparisons of ``columns`` as one family by Holm's step-down method
    (statsmodels), in place; returns the family size."""
    from statsmodels.stats.multitest import multipletests

    comparisons = [c for column in columns for c in column.comparisons]
    if not comparisons:
        return 0
    adjusted = multipletests([c.result.p_value for c in comparisons], method="holm")[1]
    corrected = iter(adjusted)
    for column in columns:
        column.comparisons = [replace(c, p_adjusted=float(next(corrected)))
                              for c in column.comparisons]
    return len(comparisons)


def metric_columns(records: Sequence[RunRecord], metrics: Sequence[str] = (),
                   tasks: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Every (task, metric id) the records' generated rows hold, in task then id order,
    narrowed to the bare metric names ``metrics`` and the ``tasks`` when given; an unknown
    name is a UserError."""
    from benchmark.report.tables import task_order

    present = sorted({(r.task, m) for r in records for m in r.metrics})
    names = {parse_metric_id(m)[1] for _, m in present}
    for kind, asked, known in (("metric", metrics, names), ("task", tasks,
                                                           {t for t, _ in present})):
        unknown = sorted(set(asked) - known)
        if unknown:
            raise UserError(f"no {kind} {', '.join(unknown)} in these records (they hold "
                            f"{', '.join(sorted(known))})")
    chosen = [(t, m) for t, m in present
              if (not metrics or parse_metric_id(m)[1] in metrics) and (not tasks or t in tasks)]
    order = task_order({t for t, _ in chosen})
    return sorted(chosen, key=lambda tm: (order.index(tm[0]), tm[1]))


def compare_columns(results_dir: Path, records: Sequence[RunRecord],
                    columns: Sequence[tuple[str, str]], *, strict: bool = False,
                    progress: bool = False, seed: int = 0) -> list[Column]:
    """:func:`compare_column` for each (task, metric id), as one Holm family."""
    from tqdm import tqdm

    compared = [compare_column(results_dir, records, task, metric_id, seed=seed,
                               strict=strict)
                for task, metric_id in tqdm(columns, desc="paired comparisons", unit="column",
                                            disable=not progress)]
    holm(compared)
    return compared


class Comparer:
    """Compares the columns of one results folder's records and corrects each table's
    columns as their own family (a column in two tables is compared once)."""

    def __init__(self, results_dir: Path, records: Sequence[RunRecord], seed: int = 0) -> None:
        self.results_dir, self.records, self.seed = results_dir, records, seed

    def family(self, columns: Sequence[tuple[str, str]]) -> list[Column]:
        """The columns' comparisons, Holm-corrected together."""
        return compare_columns(self.results_dir, self.records, columns, seed=self.seed)

"""Records -> tidy tables: one row per run, row kind and metric; then seed statistics.

For a method m, task t and metric id k with values v_s over seeds s = 1..S (each over the
same n test items), the report shows mean = (1/S) sum_s v_s and the sample standard
deviation sd = sqrt(sum_s (v_s - mean)^2 / (S - 1)) (undefined for S = 1). Whether two
methods differ is not read off these: benchmark/verdicts/ tests it, paired. If any v_s
is NaN or infinite, mean and sd are NaN (the cell shows NaN and the run is named among
the report's problems): a failed seed is never left out of a mean of the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from benchmark.results.records import RunRecord
from metrics import spec_of
from metrics.spec import parse_metric_id

RESULT_COLUMNS = ["run_id", "method", "task", "seed", "protocol", "row", "metric_id",
                  "subject", "metric", "evaluator", "value", "n", "ci_low", "ci_high"]


def higher_is_better(metric: str) -> bool:
    """The direction of a metric name (``"fid"``), as its registered spec states it."""
    return spec_of(metric).higher_is_better


def results_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per (run, row kind, metric id); row kinds: generated, oracle, chance, real
    (the evaluators' ceilings on real test media). Sorted, so the CSV is reproducible."""
    rows = []
    for record in records:
        kinds = [("generated", record.metrics), *record.references.items(),
                 ("real", record.judges)]
        for kind, values in kinds:
            for metric_id, value in values.items():
                subject, metric, evaluator = parse_metric_id(metric_id)
                rows.append([record.run_id, record.method, record.task, record.seed,
                             record.protocol, kind, metric_id, subject, metric, evaluator,
                             value["value"], value["n"], value.get("ci_low"),
                             value.get("ci_high")])
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return frame.sort_values(["method", "task", "seed", "row", "metric_id", "run_id"],
                             kind="mergesort").reset_index(drop=True)


def seed_statistics(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean, sample sd and count over seeds of ``value`` per ``keys``, with n (items) and
    the mean of the runs' own interval ends; mean and sd are NaN where any seed's value is
    NaN or infinite (pandas would skip a NaN and average the other seeds)."""
    grouped = frame.assign(finite=np.isfinite(frame["value"].astype(float))).groupby(
        list(keys), sort=True)
    stats = grouped.agg(mean=("value", "mean"), seeds=("seed", "nunique"), n=("n", "max"),
                        ci_low=("ci_low", "mean"), ci_high=("ci_high", "mean"),
                        finite=("finite", "all"))
    stats["sd"] = grouped["value"].std(ddof=1)
    stats.loc[~stats["finite"], ["mean", "sd"]] = np.nan
    return stats.drop(columns="finite").reset_index()


def non_finite_values(frame: pd.DataFrame) -> list[str]:
    """One line per run and metric whose value is NaN or infinite (the row kind added
    where it is not the generated one), for the report's problems list."""
    bad = frame[~np.isfinite(frame["value"].astype(float))]
    return [f"non-finite value: {row.method} {row.task} seed {row.seed} {row.metric_id}"
            + ("" if row.row == "generated" else f" ({row.row} row)") + f" = {row.value}"
            for row in bad.itertuples()]

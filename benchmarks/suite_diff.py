"""Every metric of two results folders of the same sweep, before and after a change.

For each method m, task t and metric id k of the generated rows, with seed values v_s in
each folder, it compares the means over seeds,

    shift = |mean_after - mean_before| / sd_before,

where sd_before is the sample standard deviation over the seeds of the first folder, and
calls the mean "within its seed spread" when shift <= 1. For each task and metric it ranks
the methods by mean (in the metric's own direction) in both folders and says whether the
ranking is the same. Metric ids are matched as they are, so an evaluator renamed between
the folders shows as metrics only one side has.

    python benchmarks/suite_diff.py BEFORE_DIR AFTER_DIR [--metric fad] [--all]

Prints a summary, then the metrics whose shift exceeds 1 or whose ranking changed (every
metric with ``--all``), as Markdown tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.aggregate import higher_is_better, results_frame, seed_statistics
from benchmark.results.folder import read_runs

KEYS = ["method", "task", "metric_id", "metric"]


def seed_means(folder: Path) -> pd.DataFrame:
    """Mean and sd over seeds of every generated-row metric of the folder's ok records."""
    frame = results_frame(read_runs(folder).records)
    return seed_statistics(frame[frame["row"] == "generated"], KEYS)


def compare(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, task, metric id) both folders hold: both means, the first
    folder's seed sd and the shift in units of it."""
    both = before.merge(after, on=KEYS, suffixes=("_before", "_after"))
    spread = both["sd_before"].where(both["sd_before"] > 0)
    both["shift"] = (both["mean_after"] - both["mean_before"]).abs() / spread
    exact = both["mean_after"] == both["mean_before"]
    both.loc[exact, "shift"] = 0.0
    return both


def rankings(both: pd.DataFrame) -> pd.DataFrame:
    """Per task and metric id: the methods in order of their mean in each folder."""
    rows = []
    for (task, metric_id, metric), group in both.groupby(["task", "metric_id", "metric"]):
        # a per-column accuracy (attr_acc_<column>) points the way attr_acc does
        descending = higher_is_better("attr_acc" if metric.startswith("attr_acc_") else metric)
        order = {side: tuple(group.sort_values(f"mean_{side}", ascending=not descending,
                                               kind="mergesort")["method"])
                 for side in ("before", "after")}
        rows.append({"task": task, "metric_id": metric_id, "before": order["before"],
                     "after": order["after"], "same": order["before"] == order["after"]})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--metric", help="only metric ids of this metric name (e.g. fad)")
    parser.add_argument("--all", action="store_true", help="list every metric, not only "
                        "the shifted ones and the changed rankings")
    args = parser.parse_args()
    before, after = seed_means(args.before), seed_means(args.after)
    if args.metric:
        before = before[before["metric"] == args.metric]
        after = after[after["metric"] == args.metric]
    both = compare(before, after)
    only = set(map(tuple, before[KEYS[:3]].values)) ^ set(map(tuple, after[KEYS[:3]].values))
    ranks = rankings(both)
    equal = int((both["mean_after"] == both["mean_before"]).sum())
    within = int((both["shift"] <= 1).sum())
    print(f"{len(both)} method means (method x task x metric) in both folders; "
          f"{len(only)} in one only")
    print(f"equal: {equal}; within one seed sd of before: {within}; largest shift "
          f"{np.nanmax(both['shift']):.3f} sd")
    print(f"rankings (task x metric): {int(ranks['same'].sum())} of {len(ranks)} the same")
    shown = both if args.all else both[~(both["shift"] <= 1)]
    print("\n| method | task | metric | before | after | seed sd before | shift (sd) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for row in shown.sort_values(["task", "metric_id", "method"]).itertuples():
        print(f"| {row.method} | {row.task} | {row.metric_id} | {row.mean_before:.4g} | "
              f"{row.mean_after:.4g} | {row.sd_before:.3g} | {row.shift:.2f} |")
    changed = ranks if args.all else ranks[~ranks["same"]]
    print("\n| task | metric | ranking before | ranking after |")
    print("|---|---|---|---|")
    for row in changed.itertuples():
        print(f"| {row.task} | {row.metric_id} | {', '.join(row.before)} | "
              f"{', '.join(row.after)} |")


if __name__ == "__main__":
    main()

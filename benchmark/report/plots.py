"""The report's seaborn figures (PNG), drawn from the tidy results and the records' curves.

    quality_vs_compute.png   per task, the quality metric at 1/8, 1/4, 1/2 and all of the
                             budget (samples seen), mean and sd band over seeds, scored on
                             the curve's first test items (benchmark/scoring/quality_curve.py)
    loss_curves.png          drawn by benchmark/report/loss_curves.py (its caption is here)
    params_vs_quality.png    per task, parameters to serve the suite (log) against
                             attribute accuracy, sd bars over seeds
    bars_<metric>.png        per task, each method's mean with sd error bars, the oracle
                             and chance values as reference lines
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmark.report.tables import (
    ALIGNMENT_METRICS,
    QUALITY_METRICS,
    task_arrow,
    task_order,
)
from benchmark.results.records import RunRecord
from metrics.spec import parse_metric_id


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    return plt, sns


def curve_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per (run, checkpoint, generated metric) of the records' quality curves."""
    rows = []
    for record in records:
        for point in record.curve:
            for metric_id, value in point["metrics"].items():
                _, metric, _ = parse_metric_id(metric_id)
                rows.append({"method": record.method, "task": record.task, "seed": record.seed,
                             "fraction": point["fraction"], "samples": point["samples"],
                             "metric": metric, "metric_id": metric_id, "value": value["value"]})
    return pd.DataFrame(rows)


def method_palette(methods) -> dict[str, tuple]:
    """One colour per method, the same in every plot (methods in sorted order)."""
    import seaborn as sns

    names = sorted(set(methods))
    return dict(zip(names, sns.color_palette("deep", len(names)), strict=True))


def _facets(sns, data: pd.DataFrame, kind: str, **kwargs):
    grid = sns.relplot(data=data, col="task", col_wrap=3, kind=kind, height=2.6,
                       aspect=1.2, facet_kws={"sharey": False, "sharex": kind == "line"},
                       col_order=task_order(data["task"]),
                       hue_order=sorted(data["method"].unique()),
                       palette=method_palette(data["method"]), **kwargs)
    for axis in grid.axes.flat:
        task = axis.get_title().split(" = ")[-1]
        axis.set_title(task_arrow(task))
    return grid


def quality_vs_compute(records: Sequence[RunRecord], path: Path) -> Path | None:
    plt, sns = _pyplot()
    curves = curve_frame(records)
    if curves.empty:
        return None
    quality = curves[curves["metric"].isin(QUALITY_METRICS)]
    if quality.empty:  # precomputed embeddings: nothing decoded, no media quality
        return None
    grid = _facets(sns, quality, "line", x="samples", y="value", hue="method", marker="o",
                   errorbar="sd")
    grid.set_axis_labels("samples seen", "quality (FID / FAD ↓, CIDEr-D ↑)")
    grid.savefig(path, dpi=110)
    plt.close(grid.figure)
    return path


def params_vs_quality(results: pd.DataFrame, records: Sequence[RunRecord],
                      path: Path) -> Path | None:
    plt, sns = _pyplot()
    params = {r.method: r.params["serve_suite"] for r in records}
    accuracy = results[(results["row"] == "generated") & (results["metric"] == "attr_acc")]
    if accuracy.empty:
        return None
    data = accuracy.assign(params=accuracy["method"].map(params))
    grid = _facets(sns, data, "line", x="params", y="value", hue="method", marker="o",
                   errorbar="sd", err_style="bars", linestyle="")
    from matplotlib.ticker import NullFormatter

    for axis in grid.axes.flat:
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())
    grid.set_axis_labels("parameters to serve the suite", "attribute accuracy ↑")
    grid.savefig(path, dpi=110)
    plt.close(grid.figure)
    return path


def metric_bars(results: pd.DataFrame, metrics: tuple[str, ...], path: Path,
                label: str) -> Path | None:
    """Per task, the first of ``metrics`` it has: bars with sd error bars, and the
    oracle (dashed) and chance (dotted) values as horizontal lines."""
    plt, sns = _pyplot()
    chosen = []
    for _, group in results.groupby("task", sort=True):
        for metric in metrics:
            if (group["metric"] == metric).any():
                chosen.append(group[group["metric"] == metric])
                break
    if not chosen:
        return None
    data = pd.concat(chosen)
    generated = data[data["row"] == "generated"]
    grid = sns.catplot(data=generated, col="task", col_wrap=3, kind="bar", x="method",
                       y="value", hue="method", errorbar="sd", height=2.6, aspect=1.2,
                       sharey=False, legend=False, col_order=task_order(generated["task"]),
                       order=sorted(generated["method"].unique()),
                       hue_order=sorted(generated["method"].unique()),
                       palette=method_palette(generated["method"]))
    for axis in grid.axes.flat:
        task = axis.get_title().split(" = ")[-1]
        axis.set_title(f"{task_arrow(task)} "
                       f"{generated.loc[generated['task'] == task, 'metric'].iloc[0]}")
        for row, style in (("oracle", "--"), ("chance", ":")):
            reference = data[(data["task"] == task) & (data["row"] == row)]["value"]
            if not reference.empty:
                axis.axhline(reference.mean(), color="0.3", linestyle=style, linewidth=1)
        axis.tick_params(axis="x", labelrotation=45)
    grid.set_axis_labels("", label)
    grid.savefig(path, dpi=110)
    plt.close(grid.figure)
    return path


CAPTIONS = {
    "performance_profile.png": "Fraction of runs × tasks whose normalized attribute accuracy "
                               "(0 = chance, 1 = oracle) exceeds τ, with stratified-bootstrap "
                               "bands.",
    "critical_difference.png": "Average rank of each method over tasks (normalized attribute "
                               "accuracy); a bar joins methods Nemenyi's test does not tell "
                               "apart at 5%.",
    "quality_vs_compute.png": "Quality at 1/8, 1/4, 1/2 and all of the training budget "
                              "(mean and sd band over seeds), every point scored on the "
                              "same first test items (n in the records' curves).",
    "loss_curves.png": "Training loss against samples seen, from each run's training log "
                       "(mean over seeds, band from the lowest to the highest seed; each "
                       "method's own objective, so compare shapes, not heights); a dot "
                       "ends a curve with a run still falling at the end of its budget.",
    "params_vs_quality.png": "Parameters needed to serve every task against attribute "
                             "accuracy (sd bars over seeds).",
    "bars_attr_acc.png": "Attribute accuracy per task (sd error bars); dashed: oracle, "
                         "dotted: chance.",
    "bars_quality.png": "Quality per task (FID / FAD lower is better, CIDEr-D higher); "
                        "dashed: oracle, dotted: chance.",
    "bars_alignment.png": "Alignment per task (CLIP, CLAP, AIS); dashed: oracle, dotted: "
                          "chance.",
}


def all_plots(results: pd.DataFrame, records: Sequence[RunRecord],
              folder: Path) -> list[Path]:
    made = [
        quality_vs_compute(records, folder / "quality_vs_compute.png"),
        params_vs_quality(results, records, folder / "params_vs_quality.png"),
        metric_bars(results, ("attr_acc",), folder / "bars_attr_acc.png",
                    "attribute accuracy ↑"),
        metric_bars(results, QUALITY_METRICS, folder / "bars_quality.png",
                    "FID / FAD ↓, CIDEr-D ↑"),
        metric_bars(results, ALIGNMENT_METRICS, folder / "bars_alignment.png",
                    "CLIP / CLAP / AIS ↑"),
    ]
    return [path for path in made if path is not None]

"""Training loss against samples seen, from each run's training log, and which runs were
still falling when their budget ran out.

``loss_curves.png`` has one panel per task and one line per method: the mean over seeds
of the logged training loss (benchmark/run/training_log.py: ``loss_mean``, the mean over each
logging interval's steps; the single step's ``loss`` in logs without it), shaded from the
lowest to the highest seed. Each method's loss is its own objective, so panels compare
the shapes of the curves (did it level off within the budget?), not their heights.

A run is **still falling** at the end of its budget when, with ``S`` its last logged
samples count, the mean loss over the rows logged in the last tenth ``(0.9 S, S]`` is
more than :data:`FALLING_DROP` (5%) below the mean over the tenth before ``(0.8 S, 0.9 S]``
and that drop is more than :data:`FALLING_SIGNIFICANCE` (2) standard errors of the
difference of the two means (from the spread of the rows in each window; each needs at
least :data:`MIN_WINDOW_ROWS` rows; a run logs about 100 rows, 10 per window).

Why 5%: the flag should mean "more budget would still have bought a lower loss", which a
matched-budget comparison must say out loud. A loss still dropping 5% per tenth of the
budget would lose about as much again over another tenth; a levelled-off curve changes by
a percent or two between tenths, and window means of about 10 logged rows move by a few
percent from batch to batch alone, so a smaller threshold would flag noise. The
standard-error condition keeps one unusually high or low batch in either window from
flagging a flat run (tests/harness/test_training_log.py checks both on synthetic curves).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.plots import _pyplot, method_palette
from benchmark.report.tables import Cell, Table, task_arrow, task_order
from benchmark.results.records import RunRecord
from benchmark.results.training_log import read_training_log

FALLING_WINDOW = 0.10
"""The end window, as a fraction of the samples seen: the last tenth against the one before."""

FALLING_DROP = 0.05
"""The relative drop of the window means above which a run is still falling (see the
module docstring for why 5%)."""

FALLING_SIGNIFICANCE = 2.0
"""How many standard errors of the difference of the window means the drop must exceed."""

MIN_WINDOW_ROWS = 3
"""Rows each window needs for the flag to be judged (fewer give no usable spread)."""


def curve_loss(log: pd.DataFrame) -> pd.DataFrame:
    """``samples`` and ``loss`` of a training log (:func:`read_training_log`), the loss
    being the interval mean ``loss_mean`` where the log has it, rows without one left out."""
    column = "loss_mean" if "loss_mean" in log.columns else "loss"
    if column not in log.columns:
        return pd.DataFrame({"samples": [], "loss": []})
    rows = log[["samples", column]].rename(columns={column: "loss"})
    return rows.dropna(subset=["loss"]).reset_index(drop=True)


def end_of_budget_change(log: pd.DataFrame) -> tuple[float, float] | None:
    """``(relative change, standard errors)`` of the mean loss (:func:`curve_loss`) over
    the last tenth of the samples against the tenth before: ``(last - previous) /
    |previous|`` (negative while the loss falls) and ``(previous - last) / se`` with
    ``se`` the standard error of the difference of the two means. None when a window has
    fewer than :data:`MIN_WINDOW_ROWS` logged losses or the earlier mean is 0."""
    rows = curve_loss(log)
    if rows.empty:
        return None
    end = float(rows["samples"].max())
    last = rows.loc[rows["samples"] > (1 - FALLING_WINDOW) * end, "loss"]
    previous = rows.loc[(rows["samples"] > (1 - 2 * FALLING_WINDOW) * end)
                        & (rows["samples"] <= (1 - FALLING_WINDOW) * end), "loss"]
    if min(len(last), len(previous)) < MIN_WINDOW_ROWS or previous.mean() == 0:
        return None
    change = (last.mean() - previous.mean()) / abs(previous.mean())
    error = math.sqrt(last.var() / len(last) + previous.var() / len(previous))
    errors = (previous.mean() - last.mean()) / error if error > 0 else math.copysign(
        math.inf, previous.mean() - last.mean())
    return float(change), float(errors)


def is_still_falling(change: tuple[float, float] | None) -> bool:
    """Whether an :func:`end_of_budget_change` flags the run (module docstring)."""
    return change is not None and -change[0] > FALLING_DROP \
        and change[1] > FALLING_SIGNIFICANCE


@dataclass(frozen=True)
class StillFalling:
    """A run flagged by :func:`is_still_falling`, ``change`` its relative loss change over
    the last tenth of its budget (negative)."""

    method: str
    task: str
    seed: int
    change: float

    def line(self) -> str:
        return (f"still falling at the end of its budget: {self.method} {self.task} seed "
                f"{self.seed} ({_percent(self.change)} over the last {FALLING_WINDOW:.0%})")


def _percent(change: float) -> str:
    """``-0.123`` -> ``−12.3%`` (a typographic minus)."""
    return f"{change:+.1%}".replace("-", "−")


@dataclass
class LossCurves:
    """Every readable training loss of a report's runs and what is known about them:
    ``frame`` has one row per (run, logged step) with ``run_id, method, task, seed,
    samples, loss``; ``without_log`` the runs whose record names no log (made before logs
    were kept); ``unreadable`` the named logs that could not be read; ``falling`` the runs
    still falling at the end of their budget."""

    frame: pd.DataFrame
    without_log: list[RunRecord] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    falling: list[StillFalling] = field(default_factory=list)

    def problems(self) -> list[str]:
        """What a reader should know is missing from the loss curves."""
        lines = []
        if self.without_log:
            count = len(self.without_log)
            lines.append(f"{count} run{'s' if count > 1 else ''} "
                         f"{'have' if count > 1 else 'has'} no training log (made before "
                         "logs were kept): no loss curve")
        return lines + [f"unreadable training log: {path}" for path in self.unreadable]

    def notes(self) -> list[str]:
        """One line per run still falling at the end of its budget."""
        return [run.line() for run in self.falling]


def collect_loss_curves(records: Sequence[RunRecord], results_dir: Path) -> LossCurves:
    """Read the training log of every record (a log shared by a suite training once) and
    flag the runs still falling at the end of their budget."""
    logs: dict[str, pd.DataFrame | None] = {}
    curves = LossCurves(pd.DataFrame(columns=["run_id", "method", "task", "seed", "samples",
                                              "loss"]))
    frames = []
    for record in sorted(records, key=lambda r: (r.method, r.task, r.seed, r.run_id)):
        if record.training_log is None:
            curves.without_log.append(record)
            continue
        if record.training_log not in logs:
            try:
                logs[record.training_log] = read_training_log(results_dir / record.training_log)
            except (OSError, ValueError, KeyError, pd.errors.ParserError):
                logs[record.training_log] = None
                curves.unreadable.append(record.training_log)
        log = logs[record.training_log]
        if log is None:
            continue
        frames.append(curve_loss(log).assign(run_id=record.run_id, method=record.method,
                                  task=record.task, seed=record.seed))
        change = end_of_budget_change(log)
        if is_still_falling(change):
            curves.falling.append(StillFalling(record.method, record.task, record.seed,
                                               change[0]))
    if frames:
        curves.frame = pd.concat(frames, ignore_index=True)[curves.frame.columns]
    return curves


def seed_band(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, lowest and highest loss over the runs of one method and task, on the samples
    counts the first run logged within the range every run covers (runs logged at other
    counts are interpolated linearly; runs of one budget log the same counts)."""
    curves = [group.sort_values("samples") for _, group in runs.groupby("run_id", sort=True)]
    low = max(float(c["samples"].min()) for c in curves)
    high = min(float(c["samples"].max()) for c in curves)
    grid = curves[0]["samples"].to_numpy(dtype=float)
    grid = grid[(grid >= low) & (grid <= high)]
    losses = np.stack([np.interp(grid, c["samples"].to_numpy(dtype=float),
                                 c["loss"].to_numpy(dtype=float)) for c in curves])
    return pd.DataFrame({"samples": grid, "mean": losses.mean(axis=0),
                         "low": losses.min(axis=0), "high": losses.max(axis=0)})


def plot_loss_curves(curves: LossCurves, path: Path) -> Path | None:
    """``loss_curves.png``: per task, each method's mean training loss over seeds against
    samples seen, shaded from the lowest to the highest seed, marked with a dot at the end
    when the method has a run still falling there; None when no run has a log."""
    frame = curves.frame
    if frame.empty:
        return None
    plt, _ = _pyplot()
    from matplotlib.ticker import LogFormatter
    tasks = task_order(frame["task"])
    columns = min(3, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows),
                                squeeze=False, layout="constrained")
    palette = method_palette(frame["method"])
    falling = {(run.method, run.task) for run in curves.falling}
    for axis, task in zip(axes.flat, tasks, strict=False):
        for method, runs in frame[frame["task"] == task].groupby("method", sort=True):
            band = seed_band(runs)
            colour = palette[method]
            axis.plot(band["samples"], band["mean"], color=colour, label=method, linewidth=1.2)
            axis.fill_between(band["samples"], band["low"], band["high"], color=colour,
                              alpha=0.2, linewidth=0)
            if (method, task) in falling:
                axis.plot(band["samples"].iloc[-1], band["mean"].iloc[-1], "o", color=colour,
                          markersize=4)
        if (frame.loc[frame["task"] == task, "loss"] > 0).all():
            axis.set_yscale("log")
            for ticks in (axis.yaxis.set_major_formatter, axis.yaxis.set_minor_formatter):
                ticks(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
        axis.set_title(task_arrow(task))
        axis.set_xlabel("samples seen")
        axis.set_ylabel("training loss")
    for axis in list(axes.flat)[len(tasks):]:
        axis.set_visible(False)
    from matplotlib.lines import Line2D

    figure.legend(handles=[Line2D([], [], color=colour, label=method)
                           for method, colour in palette.items()],
                  loc="outside right upper", frameon=False)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def still_falling_table(curves: LossCurves) -> Table | None:
    """The runs still falling at the end of their budget, with their loss change over the
    last tenth; None when there are none."""
    if not curves.falling:
        return None
    order = task_order(run.task for run in curves.falling)
    rows = [[Cell(run.method), Cell(task_arrow(run.task)), Cell(str(run.seed)),
             Cell(_percent(run.change))]
            for run in sorted(curves.falling,
                              key=lambda r: (r.method, order.index(r.task), r.seed))]
    return Table(
        "Still falling at the end of the budget",
        ["method", "task", "seed", f"loss change over the last {FALLING_WINDOW:.0%}"], rows,
        [f"mean training loss over the last {FALLING_WINDOW:.0%} of the samples seen more "
         f"than {FALLING_DROP:.0%} below the {FALLING_WINDOW:.0%} before, by more than "
         f"{FALLING_SIGNIFICANCE:g} standard errors: more budget would likely still lower it"],
    )

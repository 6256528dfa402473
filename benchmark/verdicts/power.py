"""How large a difference the present design can detect, and what a smaller one would take.

A paired comparison's standard error has an item part and a seed part
(benchmark/verdicts/paired.py): se^2 = se_items^2 + se_seeds^2. The item part shrinks with
the number of test items N, the seed part with the seeds per method k:

    se^2(N', k') = se_items^2 N / N' + se_seeds^2 k / k'

The minimum detectable difference at 80% power and a two-sided 5% level is
(t_{0.975, df} + t_{0.8, df}) se, about 2.8 se. To detect a difference delta, se must fall
to se* = delta / (z_{0.975} + z_{0.8}), which takes

    N' = N se_items^2 / (se*^2 - se_seeds^2)     items, at the present seeds
    k' = k se_seeds^2 / (se*^2 - se_items^2)     seeds per method, at the present items

and is out of reach by that route alone when the other part already exceeds se*. Each
run's own item noise sits in se_items as well as in the seed spread (paired.py), and
that share of se_items also shrinks with more seeds: "out of reach" by seeds is
therefore pessimistic, and the seed counts are upper bounds. With
one seed per method the seed part is unknown (nothing measured it), so neither the
present design's seed noise nor a seed count can be stated. These closed forms follow
from the variance components directly; statsmodels' power solvers assume a single
variance that shrinks with one n, which this two-level design does not have.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from benchmark.verdicts.comparisons import Column
from benchmark.verdicts.paired import LEVEL

POWER = 0.8


@dataclass(frozen=True)
class Design:
    """A column's design and noise: items N, seeds per method k (the fewest of any
    method), the median over its method pairs of se, se_items, se_seeds and df."""

    task: str
    metric_id: str
    items: int
    seeds: int
    se: float
    se_items: float
    se_seeds: float
    df: float

    @property
    def minimum_detectable(self) -> float:
        """The difference detected with 80% power at the 5% level."""
        return float((stats.t.ppf(1 - LEVEL / 2, self.df) + stats.t.ppf(POWER, self.df))
                     * self.se)

    def items_needed(self, difference: float) -> int | None:
        """Test items for ``difference`` at the present seeds; None when the seed part
        alone is too large."""
        room = _target_se(difference) ** 2 - self.se_seeds**2
        return None if room <= 0 else math.ceil(self.items * self.se_items**2 / room)

    def seeds_needed(self, difference: float) -> int | None:
        """Seeds per method for ``difference`` at the present items; None when the item
        part alone is too large or the seed part is unknown (one seed)."""
        room = _target_se(difference) ** 2 - self.se_items**2
        if self.seeds < 2 or room <= 0:
            return None
        return max(2, math.ceil(self.seeds * self.se_seeds**2 / room))


def _target_se(difference: float) -> float:
    """The standard error at which ``difference`` is detected with 80% power."""
    return abs(difference) / (stats.norm.ppf(1 - LEVEL / 2) + stats.norm.ppf(POWER))


def column_design(column: Column) -> Design | None:
    """The column's :class:`Design` from its comparisons; None when it has none."""
    if not column.comparisons:
        return None
    results = [c.result for c in column.comparisons]

    def median(name: str) -> float:
        return float(np.median([getattr(r, name) for r in results]))

    return Design(column.task, column.metric_id, results[0].items,
                  min(min(r.seeds) for r in results), median("se"), median("se_items"),
                  median("se_seeds"), median("df"))


def power_rows(designs: Sequence[Design], difference: float | None
               ) -> list[list[str]]:
    """Rows for the power table: task, metric id, N, k, MDD, and what ``difference``
    (default: half of each column's MDD) would take in items or seeds."""
    rows = []
    for design in designs:
        detectable = design.minimum_detectable
        target = difference if difference is not None else detectable / 2
        items = design.items_needed(target)
        seeds = design.seeds_needed(target)
        rows.append([
            design.task, design.metric_id, str(design.items), str(design.seeds),
            f"{detectable:.4g}", f"{target:.4g}",
            "out of reach" if items is None else f"{items:,}",
            ("unknown (1 seed)" if design.seeds < 2 else "out of reach") if seeds is None
            else str(seeds),
        ])
    return rows


POWER_HEADER = ["task", "metric", "items N", "seeds k", "MDD (80%, 5%)", "difference",
                "items for it", "seeds for it"]

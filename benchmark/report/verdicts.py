"""The report's verdict sections: aggregates across tasks (with the performance profile and
critical-difference plots) and the claims' verdicts (benchmark/verdicts/)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.core.errors import UserError
from benchmark.report.tables import Cell, Table, headline_tasks
from benchmark.results.records import RunRecord
from benchmark.verdicts.aggregates import (
    aggregable_metrics,
    aggregate_tables,
    normalized_scores,
    performance_profile,
    plot_critical_difference,
    plot_performance_profile,
    rank_test,
    score_matrix,
)
from benchmark.verdicts.claims import evaluate, read_claims

AGGREGATED_METRIC = "attr_acc"
"""The metric aggregated across tasks: every target modality has it, and its oracle and
chance rows span what a method can do (a Fréchet distance's chance row decodes real
items, so its gap says little)."""
PROFILE_THRESHOLDS = np.linspace(-0.25, 1.25, 61)


@dataclass
class AcrossTasks:
    """The aggregate tables, and the score matrices the plots are drawn from."""

    tables: list[Table] = field(default_factory=list)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)

    def plot(self, folder: Path) -> list[Path]:
        """performance_profile.png and critical_difference.png (none without scores)."""
        if not self.matrices:
            return []
        bands = performance_profile(self.matrices, PROFILE_THRESHOLDS)
        paths = [plot_performance_profile(bands, PROFILE_THRESHOLDS,
                                          folder / "performance_profile.png",
                                          f"Performance profile: normalized {AGGREGATED_METRIC}")]
        if len(self.matrices) >= 3:
            paths.append(plot_critical_difference(
                rank_test(self.matrices), folder / "critical_difference.png",
                f"Average rank over tasks, normalized {AGGREGATED_METRIC} (Nemenyi)"))
        return paths


def across_tasks(frame: pd.DataFrame) -> AcrossTasks:
    """Aggregates of :data:`AGGREGATED_METRIC` over the headline tasks (the directed ones,
    benchmark/report/tables.py ``headline_tasks``) when every method ran every task it is
    aggregated over on the same seeds (else none: the tables say nothing wrong)."""
    frame = frame[frame["task"].isin(headline_tasks(frame["task"].unique()))]
    if AGGREGATED_METRIC not in aggregable_metrics(frame):
        return AcrossTasks()
    try:
        matrices = score_matrix(normalized_scores(frame, AGGREGATED_METRIC))
    except ValueError:  # an incomplete grid: the report lists the missing runs
        return AcrossTasks()
    if len(matrices) < 2:
        return AcrossTasks()
    return AcrossTasks(aggregate_tables(frame, AGGREGATED_METRIC), matrices)


def claims_table(path: Path, results_dir: Path, records: Sequence[RunRecord]) -> Table:
    """One row per claim: its id, verdict, the numbers behind it and the published figures;
    a claim these records cannot test says why instead of a verdict."""
    rows = []
    for claim in read_claims(path):
        try:
            verdict = evaluate(claim, results_dir, records)
            outcome, evidence = verdict.verdict, "; ".join(verdict.evidence)
        except UserError as error:
            outcome, evidence = "not tested here", str(error)
        rows.append([Cell(claim.id), Cell(outcome, bold=outcome != "not tested here"),
                     Cell(f"“{claim.paper_says}” ({claim.source})"),
                     Cell(f"{evidence}. The paper compared: {claim.paper_compared}. "
                          f"Measured here: {claim.harness_measures}."),
                     Cell("; ".join(claim.reported) or "–")])
    notes = [f"claims from {path.name}/ (benchmark/verdicts/claims.py says how each kind is "
             "tested); the verdict is about the matched comparison measured here, not the "
             "paper's own setting. Reported: the papers' figures, not measured here."]
    return Table("Claims", ["claim", "verdict", "the paper says", "evidence",
                            "reported (not measured)"], rows, notes)

"""``python -m benchmark report``: paper-ready tables, plots and a page, from run records.

Reads only the RunRecords (and their per-sample, samples and training log files) in a
results folder and writes ``reports/<name>/``:

    table.md, table.tex   the directed tasks' headline metrics; the FlowBind paper's
                          efficiency, quality and alignment tables, regenerated from these
                          runs, bold only where a paired, Holm-corrected test says so
                          (benchmark/verdicts/); the many-to-one and one-to-many tasks'
                          headline metrics; coherence (round trips, jointly generated
                          pairs) and the gain from more sources; aggregates across the
                          directed tasks; the claims' verdicts
    results.csv           one row per run, row kind (generated / oracle / chance / real)
                          and metric, for pandas users
    *.png                 seaborn plots of the directed tasks (benchmark/report/plots.py;
                          results without any: of the other tasks but round trips), the training
                          loss curves (benchmark/report/loss_curves.py), the performance
                          profile and critical-difference diagram; table.md and the
                          page list the runs whose loss was still falling at the end
    index.html            tables, plots and a gallery of samples (benchmark/report/page.py)

The folder is built beside the old one and swapped in only when complete, so a failed
report never leaves a half-written folder behind.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from benchmark.core.cache import scratch_folder
from benchmark.core.errors import UserError
from benchmark.core.progress import stage
from benchmark.report.aggregate import non_finite_values, results_frame
from benchmark.report.collection import load_collection, setting
from benchmark.report.loss_curves import (
    collect_loss_curves,
    plot_loss_curves,
    still_falling_table,
)
from benchmark.report.page import gallery, write_page
from benchmark.report.plots import all_plots
from benchmark.report.tables import (
    PAPER_ALIGNMENT,
    PAPER_QUALITY,
    coherence_table,
    efficiency_table,
    gain_table,
    headline_table,
    headline_tasks,
    paper_table,
    tasks_of_kind,
    to_latex,
    to_markdown,
)
from benchmark.report.verdicts import across_tasks, claims_table
from benchmark.verdicts.comparisons import Comparer


@dataclass
class Report:
    folder: Path
    files: list[Path]
    problems: list[str]


def write_report(results_dir: Path, out_dir: Path, claims_path: Path | None = None) -> Report:
    """Build the report of every ``ok`` record in ``results_dir`` into ``out_dir``, with the
    verdicts on the claims in ``claims_path`` (a file or folder) when given."""
    stage(f"reading the records in {results_dir}")
    collection = load_collection(results_dir)
    records = collection.records
    settings = sorted({setting(r) for r in records})
    if len(settings) > 1:
        raise UserError(f"{results_dir} mixes runs of {len(settings)} settings "
                        f"({'; '.join(settings)}): give each its own results folder")
    results = results_frame(records)
    stage(f"paired comparisons of {len(records)} records (resampling their per-item scores)")
    verdicts = Comparer(results_dir, records).family
    headline = results[results["task"].isin(headline_tasks(results["task"].unique()))]
    tables = [
        headline_table(results, verdicts),
        efficiency_table(records),
        paper_table(results, "Quality (the FlowBind paper's Table 2 shape)", PAPER_QUALITY,
                    verdicts),
        paper_table(results, "Alignment (CLIP, CLAP, AIS)", PAPER_ALIGNMENT, verdicts),
    ]
    joint_tasks = tasks_of_kind(results["task"].unique(), "many-to-one", "one-to-many")
    if joint_tasks and tasks_of_kind(results["task"].unique(), "directed"):
        tables.append(headline_table(results, verdicts, joint_tasks,
                                     "Many-to-one and one-to-many tasks"))
    tables += [t for t in (coherence_table(results, verdicts), gain_table(results)) if t]
    across = across_tasks(headline)
    tables += across.tables
    if claims_path:
        stage(f"verdicts on the claims in {claims_path}")
    claims = claims_table(claims_path, results_dir, records) if claims_path else None
    tables += [claims] if claims is not None else []
    title = f"anybench report: {settings[0]}"
    training = collect_loss_curves(records, results_dir)
    problems = collection.problems() + non_finite_values(results) + training.problems()
    checks = [table for table in [still_falling_table(training)] if table is not None]
    building = scratch_folder(out_dir)
    try:
        intro = [f"# {title}", "", f"{len(records)} runs from `{results_dir}`.", ""]
        intro += [f"Not in this report: {p}" for p in problems] + ([""] if problems else [])
        intro += [*training.notes(), ""] if training.notes() else []
        (building / "table.md").write_text(
            "\n".join(intro) + "\n" + "\n".join(to_markdown(t) for t in tables))
        (building / "table.tex").write_text(
            "% " + title + "\n% needs \\usepackage{booktabs,graphicx}\n\n"
            + "\n".join(to_latex(t) for t in tables))
        results.to_csv(building / "results.csv", index=False)
        stage("plots, the gallery and the page")
        plots = all_plots(headline, [r for r in records if r.task in set(headline["task"])],
                          building) + across.plot(building)
        plots += [p for p in [plot_loss_curves(training, building / "loss_curves.png")] if p]
        write_page(building, title, [*tables, *checks], plots,
                   gallery(records, results_dir, building), problems)
        if out_dir.exists():
            retired = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(retired, ignore_errors=True)
            out_dir.rename(retired)
            building.rename(out_dir)
            shutil.rmtree(retired)
        else:
            building.rename(out_dir)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return Report(out_dir, sorted(out_dir.rglob("*.*")), problems)

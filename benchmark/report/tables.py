"""The report's tables, built once and rendered as Markdown, LaTeX (booktabs) or HTML.

Each cell is mean +- sd over seeds (metrics) or a plain figure (efficiency); a metric cell
where any seed's value is NaN or infinite shows NaN and is never bold. A metric table's
columns are one family of paired comparisons (benchmark/verdicts/comparisons.py: every
pair of methods, items paired, seeds resampled, Holm-corrected over the table): a value is
bold only when its method is better than every other method after the correction, and
"≈" marks the methods not distinguishable from the best mean when none is. The notes say
which test, which correction, the family's size, the columns that could not be tested
and why, and each column's minimum detectable difference.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from benchmark.report.aggregate import higher_is_better, seed_statistics
from benchmark.results.summary import format_number
from metrics.spec import parse_metric_id

if TYPE_CHECKING:
    from benchmark.verdicts.comparisons import Column

MODALITY_LETTER = {"text": "T", "image": "I", "audio": "A"}
QUALITY_METRICS = ("fid", "fad", "cider_d")
ALIGNMENT_METRICS = ("clip", "clap", "ais")
REFERENCE_ROWS = ("oracle", "chance", "real")
# The FlowBind paper's quality and alignment tables: (task, metric) per column.
PAPER_QUALITY = [("text2image", "fid"), ("image2text", "cider_d"), ("text2audio", "fad"),
                 ("audio2text", "cider_d"), ("image2audio", "fad"), ("audio2image", "fid")]
PAPER_ALIGNMENT = [("text2image", "clip"), ("image2text", "clip"), ("text2audio", "clap"),
                   ("audio2text", "clap"), ("image2audio", "ais"), ("audio2image", "ais")]


@dataclass
class Cell:
    text: str
    bold: bool = False


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)


def task_arrow(task: str) -> str:
    """``text2image`` -> ``T→I``; several sources are joined by ``+``; a round trip
    ``text2image2text`` -> ``T→I→T``."""
    return "→".join("+".join(MODALITY_LETTER.get(m, m) for m in side.split("+"))
                    for side in task.split("2"))


def task_order(tasks) -> list[str]:
    """The tasks in the registry's order (the six directed ones first, as the papers list
    them, the round trips last), unknown names last, alphabetically."""
    from benchmark.core.tasks import every_task

    known = [t.name for t in every_task()]
    return sorted(set(tasks), key=lambda t: (known.index(t) if t in known else len(known), t))


def tasks_of_kind(tasks, *kinds: str) -> list[str]:
    """The ``tasks`` (names) of the given kinds (benchmark/core/tasks.py ``Task.kind``), in
    :func:`task_order`."""
    from benchmark.core.tasks import parse_task

    return [t for t in task_order(tasks) if parse_task(t).kind in kinds]


def headline_tasks(tasks) -> list[str]:
    """The tasks of the headline table, plots and aggregates: the directed ones, or, in
    results without any, every task that is not a round trip."""
    return (tasks_of_kind(tasks, "directed")
            or tasks_of_kind(tasks, "many-to-one", "one-to-many"))


def _arrow(metric: str) -> str:
    return "↑" if higher_is_better(metric) else "↓"


def _metric_cell(stat: pd.Series | None) -> Cell:
    if stat is None:
        return Cell("–")
    if not np.isfinite(stat["mean"]):  # some seed's value is NaN or infinite
        return Cell("NaN")
    if stat["seeds"] < 2:
        return Cell(format_number(stat["mean"]))
    decimals = 1 if abs(stat["mean"]) >= 100 else 3  # as format_number, sd alike
    return Cell(f"{stat['mean']:.{decimals}f} ± {stat['sd']:.{decimals}f}")


def _mark(cells: list[Cell], methods: list[str], column: Column | None) -> None:
    """Bold the column's best method, or prefix "≈" to those tied with the best mean."""
    if column is None:
        return
    for method, mark in column.marks().items():
        cell = cells[methods.index(method)]
        if cell.text == "NaN":
            continue
        if mark == "best":
            cell.bold = True
        else:
            cell.text = f"≈ {cell.text}"


def verdict_notes(columns: list[Column], family: int) -> list[str]:
    """The footnotes of a table's paired tests (module doc)."""
    tested = [c for c in columns if c.comparisons]
    notes = []
    if tested:
        seeds = sorted({min(p.result.seeds) for c in tested for p in c.comparisons})
        notes.append(
            "bold: better than every other method after Holm's correction over this table's "
            f"{family} paired comparisons at 5% (two-level bootstrap: test items resampled "
            "with the same indices for every method, seeds per method); ≈: not "
            "distinguishable from the best mean" + (
                "; one seed per method: item-level test only" if seeds == [1] else ""))
        notes.append("minimum detectable difference (80% power, 5% level, median over "
                     "method pairs): " + ", ".join(
                         f"{_column_label(c)} {format_number(c.minimum_detectable())}"
                         for c in tested))
    notes += [f"not tested, so nothing bold: {_column_label(c)}: {c.untested}"
              for c in columns if c.untested is not None]
    return notes


def _column_label(column: Column) -> str:
    """``T→I fid``; a task with several targets names the metric's subject too
    (``T→I+A image attr_acc``)."""
    subject, metric, _ = parse_metric_id(column.metric_id)
    several = "+" in column.task.rsplit("2", 1)[-1]
    return f"{task_arrow(column.task)} {subject + ' ' if several else ''}{metric}"


def column_metric(frame: pd.DataFrame, task: str, metrics: tuple[str, ...],
                  subject: str | None = None) -> str | None:
    """The first of ``metrics`` that task's generated rows have (its full metric id), of
    ``subject`` (a target modality, or a pair ``a~b``) when given."""
    present = frame[(frame["task"] == task) & (frame["row"] == "generated")]
    if subject is not None:
        present = present[present["subject"] == subject]
    for metric in metrics:
        ids = sorted(present.loc[present["metric"] == metric, "metric_id"].unique())
        if ids:
            return ids[0]
    return None


Verdicts = Callable[[list[tuple[str, str]]], "list[Column]"]
"""Compares a table's (task, metric id) columns as one corrected family (the report passes
``benchmark.verdicts.comparisons.Comparer.family``)."""


def metric_table(frame: pd.DataFrame, title: str, columns: list[tuple[str, str]],
                 header: list[str], verdicts: Verdicts | None = None,
                 shown_references: tuple[str, ...] = REFERENCE_ROWS,
                 cell: Callable[[pd.Series | None], Cell] | None = None) -> Table:
    """Methods (then the ``shown_references`` rows: oracle, chance, real data) x (task, metric id)
    columns; with ``verdicts``, bold and "≈" from the paired tests (module doc), else no
    marks. ``cell`` writes a method's cell from its seed statistics (default: mean ± sd)."""
    method_cell = cell or _metric_cell
    generated = seed_statistics(frame[frame["row"] == "generated"],
                                ["method", "task", "metric_id"])
    references = seed_statistics(frame[frame["row"].isin(REFERENCE_ROWS)],
                                 ["row", "task", "metric_id"])
    methods = sorted(generated["method"].unique())
    body: list[list[Cell]] = [[Cell(m)] for m in methods]
    family = verdicts(columns) if verdicts is not None and columns else []
    compared = dict(zip(columns, family, strict=True)) if family else {}
    for task, metric_id in columns:
        stats = []
        for method in methods:
            match = generated[(generated["method"] == method) & (generated["task"] == task)
                              & (generated["metric_id"] == metric_id)]
            stats.append(None if match.empty else match.iloc[0])
        cells = [method_cell(s) for s in stats]
        _mark(cells, methods, compared.get((task, metric_id)))
        for row, cell in zip(body, cells, strict=True):
            row.append(cell)
    for kind in shown_references:
        row = [Cell(f"({kind})")]
        for task, metric_id in columns:
            match = references[(references["row"] == kind) & (references["task"] == task)
                               & (references["metric_id"] == metric_id)]
            row.append(_metric_cell(None if match.empty else match.iloc[0]))
        body.append(row)
    seeds = sorted(generated["seeds"].unique())
    ns = sorted(generated["n"].unique())
    tests = (verdict_notes(family, sum(len(c.comparisons) for c in family)) if family
             else ["no paired tests: nothing bold"])
    notes = [f"mean ± sd over {'/'.join(map(str, seeds))} seeds; n = "
             f"{'/'.join(map(str, ns))} test items per value.", *tests]
    if shown_references:
        notes.append("(oracle): the true target embeddings decoded; (chance): random training "
                     "items; (real): the evaluator on real test media (its ceiling).")
    notes.append("evaluators: " + ", ".join(sorted({parse_metric_id(m)[2] for _, m in columns})))
    return Table(title, ["method", *header], body, notes)


EMBEDDING_METRICS = ("emb_cos", "emb_r_at_1", "emb_fd")
"""The headline on precomputed embeddings, where nothing decodes (no media metrics)."""


def headline_table(frame: pd.DataFrame, verdicts: Verdicts | None = None,
                   tasks: list[str] | None = None, scope: str | None = None) -> Table:
    """Per task (``tasks``, default :func:`headline_tasks`) and target: attribute accuracy,
    the quality metric and the alignment metric; on a dataset of precomputed embeddings
    (none of those), the decoder-free metrics. ``scope`` opens the title (default: "Directed
    tasks" or "All tasks")."""
    from benchmark.core.tasks import parse_task

    if tasks is None:
        tasks = headline_tasks(frame["task"].unique())
        every = set(tasks) == set(frame["task"].unique())
        scope = scope or ("All tasks" if every else "Directed tasks")

    columns, header = [], []
    groups: tuple[tuple[str, ...], ...] = (("attr_acc",), QUALITY_METRICS, ALIGNMENT_METRICS)
    scope = scope or "All tasks"
    title = f"{scope}: attribute accuracy, quality, alignment"
    if not frame["metric"].isin(sum(groups, ())).any():
        groups = tuple((metric,) for metric in EMBEDDING_METRICS)
        title = f"{scope}: decoder-free metrics (precomputed embeddings)"
    for task in tasks:
        targets = parse_task(task).targets
        for target in targets:
            named = f" {MODALITY_LETTER.get(target, target)}" if len(targets) > 1 else ""
            for metrics in groups:
                metric_id = column_metric(frame, task, metrics, subject=target)
                if metric_id is not None:
                    metric = parse_metric_id(metric_id)[1]
                    columns.append((task, metric_id))
                    header.append(f"{task_arrow(task)}{named} {metric} {_arrow(metric)}")
    return metric_table(frame, title, columns, header, verdicts)


ROUND_TRIP_METRICS = ("attr_acc", "emb_cos")
JOINT_METRICS = ("attr_agree", "coherence_rank", "emb_coherence")
"""The Coherence table's metric for a round trip and for a joint pair: the first each task
has (the decoder-free one on precomputed embeddings)."""


def coherence_table(frame: pd.DataFrame, verdicts: Verdicts | None = None) -> Table | None:
    """Methods x (each round trip: the returned source against the one that went in; each
    one-to-many task: its two generated targets against each other), with the references
    (oracle: the true embeddings, a perfect round trip; chance: random training items, a
    shuffled pairing; real: the real test pair); None without such tasks."""
    columns, header = [], []
    tasks = frame["task"].unique()
    for task in tasks_of_kind(tasks, "cycle"):
        metric_id = column_metric(frame, task, ROUND_TRIP_METRICS)
        if metric_id is not None:
            columns.append((task, metric_id))
            header.append(f"{task_arrow(task)} {parse_metric_id(metric_id)[1]} ↑")
    for task in tasks_of_kind(tasks, "one-to-many"):
        metric_id = column_metric(frame, task, JOINT_METRICS)
        if metric_id is not None:
            subject, metric, _ = parse_metric_id(metric_id)
            pair = "~".join(MODALITY_LETTER.get(m, m) for m in subject.split("~"))
            columns.append((task, metric_id))
            header.append(f"{task_arrow(task)} {pair} {metric} ↑")
    if not columns:
        return None
    table = metric_table(frame, "Coherence: round trips and jointly generated pairs",
                         columns, header, verdicts)
    table.notes.append("round trip s→m→s: s translated to m and back by the same trained "
                       "method, scored against the s that went in; pair a~b: the two targets "
                       "of one one-to-many call scored against each other (attr_agree: share "
                       "of attributes the judges read alike in both).")
    return table


GAIN_METRICS = (("gain_attr_acc", "gain_emb_cos"), ("gain_fid", "gain_fad", "gain_cider_d"))
"""The gain table's columns per many-to-one task: the attribute (or, on precomputed
embeddings, the embedding) gain, then the quality gain."""


def _gain_cell(stat: pd.Series | None) -> Cell:
    """Mean ± sd over seeds, and where the runs' intervals agree on the sign, which: every
    seed's 95% interval above 0 ("> 0") or every one below ("< 0")."""
    cell = _metric_cell(stat)
    if stat is None or cell.text == "NaN" or pd.isna(stat["ci_low"]):
        return cell
    if stat["ci_low_min"] > 0:
        return Cell(f"{cell.text} (> 0)")
    if stat["ci_high_max"] < 0:
        return Cell(f"{cell.text} (< 0)")
    return cell


def gain_table(frame: pd.DataFrame) -> Table | None:
    """Methods x many-to-one tasks' gains over their best single source
    (metrics/source_gain.py); None without such tasks."""
    columns, header = [], []
    for task in tasks_of_kind(frame["task"].unique(), "many-to-one"):
        for metrics in GAIN_METRICS:
            metric_id = column_metric(frame, task, metrics)
            if metric_id is not None:
                columns.append((task, metric_id))
                header.append(f"{task_arrow(task)} {parse_metric_id(metric_id)[1]} ↑")
    if not columns:
        return None
    generated = frame[frame["row"] == "generated"]
    bounds = generated.groupby(["method", "task", "metric_id"]).agg(
        ci_low_min=("ci_low", "min"), ci_high_max=("ci_high", "max"))

    def cell(stat: pd.Series | None) -> Cell:
        if stat is not None:
            stat = pd.concat([stat, bounds.loc[(stat["method"], stat["task"],
                                                stat["metric_id"])]])
        return _gain_cell(stat)

    table = metric_table(frame, "Gain from more sources (many-to-one against its best single "
                         "source)", columns, header, shown_references=(), cell=cell)
    table.notes.append("gain: the metric from every source together minus the best single "
                       "source's, same method, seed and items, signed so that > 0 means the "
                       "extra modality helped; (> 0) / (< 0): every seed's 95% paired "
                       "interval lies above / below 0.")
    return table


def paper_table(frame: pd.DataFrame, title: str, shape: list[tuple[str, str]],
                verdicts: Verdicts | None = None) -> Table:
    """One of the FlowBind paper's table shapes, with our runs' numbers in it."""
    columns, header = [], []
    for task, metric in shape:
        metric_id = column_metric(frame, task, (metric,))
        if metric_id is not None:
            columns.append((task, metric_id))
            header.append(f"{task_arrow(task)} {metric} {_arrow(metric)}")
    return metric_table(frame, title, columns, header, verdicts)


def efficiency_table(records: list) -> Table:
    """The paper's efficiency table: parameters, parameters to serve the suite, train
    time, data used (samples seen), FLOPs, and whether one training stage does it all."""
    by_method: dict[str, list] = {}
    for record in records:
        by_method.setdefault(record.method, []).append(record)
    body = []
    for method, group in sorted(by_method.items()):
        trainings = {(r.seed, r.budget.get("flops"), r.timing.get("train_s")): r
                     for r in group}.values()  # suite runs share one training per seed
        seconds = np.array([r.timing["train_s"] for r in trainings])
        samples = sorted({r.budget["samples"] for r in trainings})
        first = group[0]
        stages = first.extra.get("single_stage")
        body.append([
            Cell(method),
            Cell(f"{first.params['trainable']:,}"),
            Cell(f"{first.params['serve_suite']:,}"),
            Cell("–" if first.params["paper_preset_trainable"] is None
                 else f"{first.params['paper_preset_trainable']:,}"),
            Cell(f"{seconds.mean():.1f}" + (f" ± {seconds.std(ddof=1):.1f}"
                                             if len(seconds) > 1 else "")),
            Cell("/".join(f"{s:,}" for s in samples)),
            Cell(f"{np.mean([r.budget['flops'] for r in trainings]):.3g}"),
            Cell("–" if stages is None else ("yes" if stages else "no")),
        ])
    notes = ["params: trainable in this run (tiny preset); to serve every task; the paper "
             "preset's trainable count (meta device). Train seconds: mean ± sd over seeds, "
             "wall-clock of training only, on the recorded hardware."]
    return Table("Efficiency",
                 ["method", "params", "params to serve suite", "paper-preset params",
                  "train s ↓", "samples seen", "train FLOPs", "single-stage"], body, notes)


def to_markdown(table: Table) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    rows = [[f"**{c.text}**" if c.bold else c.text for c in row] for row in table.rows]
    lines = [f"### {table.title}", "", line(table.header),
             line(["---"] * len(table.header)), *map(line, rows), ""]
    return "\n".join(lines + [f"- {note}" for note in table.notes]) + "\n"


_LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}"}
_LATEX_SYMBOLS = {"±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$",
                  "→": r"$\to$", "–": "--"}


def _latex(text: str) -> str:
    for plain, escaped in {**_LATEX_ESCAPES, **_LATEX_SYMBOLS}.items():
        text = text.replace(plain, escaped)
    return text


def to_latex(table: Table) -> str:
    """A booktabs tabular scaled to the text width inside a table float (needs the booktabs
    and graphicx packages), notes as the caption."""
    spec = "l" + "r" * (len(table.header) - 1)
    rows = [" & ".join(rf"\textbf{{{_latex(c.text)}}}" if c.bold else _latex(c.text)
                       for c in row) + r" \\" for row in table.rows]
    method_rows = sum(1 for row in table.rows if not row[0].text.startswith("("))
    if method_rows < len(rows):
        rows.insert(method_rows, r"\midrule")
    return "\n".join([
        r"\begin{table}[t]", r"\centering", r"\small",
        rf"\caption{{{_latex(table.title)}. {_latex(' '.join(table.notes))}}}",
        r"\resizebox{\textwidth}{!}{%", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
        " & ".join(_latex(h) for h in table.header) + r" \\", r"\midrule", *rows,
        r"\bottomrule", r"\end{tabular}}", r"\end{table}", "",
    ])


def to_html(table: Table) -> str:
    def cell(c: Cell, tag: str = "td") -> str:
        text = html.escape(c.text)
        return f"<{tag}>{'<b>' + text + '</b>' if c.bold else text}</{tag}>"

    head = "".join(cell(Cell(h), "th") for h in table.header)
    body = "".join("<tr>" + "".join(map(cell, row)) + "</tr>" for row in table.rows)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in table.notes)
    return (f"<h3>{html.escape(table.title)}</h3><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table><ul class='notes'>{notes}</ul>")

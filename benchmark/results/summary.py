"""The short plain-text tables printed at the end of a run and by ``prepare``."""

from __future__ import annotations

import numpy as np

from benchmark.results.records import RunRecord


def format_number(value: float) -> str:
    """Three decimals, one for large values, significant digits for tiny ones; ``NaN``,
    ``inf`` or ``-inf`` for a non-finite value."""
    if not np.isfinite(value):
        return "NaN" if np.isnan(value) else f"{value:f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if 0 < abs(value) < 0.01:
        return f"{value:.2g}"
    return f"{value:.3f}"


def _cell(metric: dict | None) -> str:
    if metric is None:
        return "-"
    text = format_number(metric["value"])
    if metric.get("ci_low") is not None:
        text += f" [{format_number(metric['ci_low'])}, {format_number(metric['ci_high'])}]"
    return text


def _direction(metric_id: str) -> str:
    """`` ↑`` or `` ↓``: whether the metric's spec (``metrics.spec_of``: a breakdown
    part's is its parent's) says higher is better ("" for an id no spec is behind)."""
    from benchmark.core.errors import UserError
    from metrics import spec_of
    from metrics.spec import parse_metric_id

    try:
        return " ↑" if spec_of(parse_metric_id(metric_id)[1]).higher_is_better else " ↓"
    except UserError:
        return ""


def markdown_run_table(record: RunRecord) -> str:
    """A run's scores as a Markdown table: one row per metric id (its direction marked),
    columns the method's row, the oracle and chance reference rows and the evaluators'
    ceiling on real test media (``–`` where none applies); then the number of test items.
    ``run`` prints it and the README's demo table is this function applied to the committed
    demo record (benchmark/report/readme.py), so the two agree character for character."""
    columns = [f"{record.method} ({record.preset}, seed {record.seed})",
               *record.references, "real (ceiling)"]
    rows = [record.metrics, *record.references.values(), record.judges]
    lines = ["| metric | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    names = [*record.metrics, *(name for name in record.judges if name not in record.metrics)]
    for name in names:
        cells = ["–" if name not in values else _cell(values[name]) for values in rows]
        lines.append(f"| `{name}`{_direction(name)} | " + " | ".join(cells) + " |")
    items = {value["n"] for values in rows for value in values.values()}
    lines.append("")
    lines.append("n = " + ", ".join(f"{n:,}" for n in sorted(items)) + " test items; brackets "
                 "are 95% intervals")
    return "\n".join(lines)


def run_table(record: RunRecord) -> str:
    """What ``run`` prints: :func:`markdown_run_table`, then the parameter counts and where
    the time went (those vary from run to run; the table does not)."""
    lines = [markdown_run_table(record), ""]
    p, t = record.params, record.timing
    lines.append(
        f"params: trainable {p['trainable']:,}  serve task {p['serve_task']:,}  "
        f"serve suite of {p['suite_tasks']} tasks {p['serve_suite']:,}  "
        + (f"paper preset {p['paper_preset_trainable']:,}"
           if p["paper_preset_trainable"] is not None else "no paper preset")
    )
    lines.append(
        f"time: train {t['train_s']:.1f}s ({t['samples_per_s']:.0f} samples/s)  "
        f"sample {t['sample_s']:.2f}s ({t['sample_ms_per_item']:.3g} ms/item, "
        f"NFE {t['nfe_per_item']:g})  eval {t['eval_s']:.1f}s  "
        f"peak RSS {t['peak_rss_mb']:,.0f} MB  "
        f"budget {record.budget['kind']}={record.budget['value']:g}: "
        f"{record.budget['steps']:,} steps, {record.budget['samples']:,} samples, "
        f"{record.budget['flops']:.3g} FLOPs"
    )
    return "\n".join(lines)


def ceilings_table(ceilings: dict[str, dict]) -> str:
    """One line per evaluator ceiling: metric id, value [95% interval], n."""
    width = max(len(name) for name in ceilings)
    cells = {name: _cell(value) for name, value in ceilings.items()}
    cell_width = max(len(cell) for cell in cells.values())
    return "\n".join(f"{name:<{width}}  {cells[name]:<{cell_width}}  n={value['n']}"
                     for name, value in ceilings.items())


def sweep_table(records: list[RunRecord]) -> str:
    """Per (method, task): seeds, and each target's attribute accuracy (on a dataset without
    labels, the embedding cosine ``emb_cos``) as mean +- standard deviation over seeds (the
    evaluator's own id in each cell; one seed: its value alone). A cell where any seed's
    value is NaN or infinite shows NaN."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.method, record.task), []).append(record)
    lines = [f"{'method':<10} {'task':<18} seeds  attribute accuracy or emb_cos "
             "(mean +- sd over seeds)"]
    for (method, task), group in sorted(groups.items()):
        names = [n for n in group[0].metrics if ".attr_acc[" in n] or [
            n for n in group[0].metrics if ".emb_cos[" in n]
        cells = []
        for name in names:
            values = np.array([r.metrics[name]["value"] for r in group if name in r.metrics])
            if not np.isfinite(values).all():
                cells.append(f"{name} NaN")
                continue
            spread = f" +- {values.std(ddof=1):.3f}" if len(values) > 1 else ""
            cells.append(f"{name} {values.mean():.3f}{spread}")
        lines.append(f"{method:<10} {task:<18} {len(group):>5}  {'; '.join(cells)}")
    return "\n".join(lines)

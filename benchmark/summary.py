"""The short plain-text tables printed at the end of a run and by ``prepare``."""

from __future__ import annotations

import numpy as np

from benchmark.records import RunRecord


def format_number(value: float) -> str:
    """Three decimals, one for large values, significant digits for tiny ones."""
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


def run_table(record: RunRecord) -> str:
    """Rows: every metric id; columns: the method, the oracle and chance references, and
    the evaluators' ceiling on real test media (where one exists); then n."""
    columns = [record.method, *(f"({name})" for name in record.references), "(real)"]
    rows = [record.metrics, *record.references.values(), record.judges]
    header = ["metric", *columns, "n"]
    body = [
        [name, *(_cell(values.get(name)) for values in rows), str(record.metrics[name]["n"])]
        for name in record.metrics
    ]
    body += [
        [name, *("-" for _ in columns[:-1]), _cell(value), str(value["n"])]
        for name, value in record.judges.items() if name not in record.metrics
    ]
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [line(header), line(["-" * w for w in widths]), *map(line, body)]
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
    evaluator's own id in each cell; one seed: its value alone)."""
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
            spread = f" +- {values.std(ddof=1):.3f}" if len(values) > 1 else ""
            cells.append(f"{name} {values.mean():.3f}{spread}")
        lines.append(f"{method:<10} {task:<18} {len(group):>5}  {'; '.join(cells)}")
    return "\n".join(lines)

"""The short plain-text table printed at the end of a run."""

from __future__ import annotations

from benchmark.records import RunRecord


def _cell(metric: dict | None) -> str:
    if metric is None:
        return "-"
    text = f"{metric['value']:.3f}"
    if metric.get("ci_low") is not None:
        text += f" [{metric['ci_low']:.3f}, {metric['ci_high']:.3f}]"
    return text


def run_table(record: RunRecord) -> str:
    """Rows: the method and the oracle/chance references; columns: every metric id."""
    ids = list(record.metrics)
    rows = [(record.method, record.metrics)] + [
        (f"({name})", values) for name, values in record.references.items()
    ]
    header = ["row", *ids]
    body = [[label, *(_cell(values.get(i)) for i in ids)] for label, values in rows]
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [line(header), line(["-" * w for w in widths]), *map(line, body)]
    for modality, ceiling in record.judges.items():
        for metric, value in ceiling.items():
            lines.append(f"judge ceiling on real {modality}: {metric} = {_cell(value)}")
    p, t = record.params, record.timing
    lines.append(
        f"params: trainable {p['trainable']:,}  serve task {p['serve_task']:,}  "
        f"serve suite of {p['suite_tasks']} tasks {p['serve_suite']:,}  "
        f"paper preset {p['paper_preset_trainable']:,}"
    )
    lines.append(
        f"time: train {t['train_s']:.1f}s ({t['samples_per_s']:.0f} samples/s)  "
        f"sample {t['sample_s']:.2f}s  eval {t['eval_s']:.1f}s  "
        f"steps {record.budget['used']} x batch -> {record.budget['samples_seen']:,} samples"
    )
    return "\n".join(lines)

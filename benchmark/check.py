"""``python -m benchmark check``: fail CI when a code change moves the metrics.

A baseline (``results/baselines/<name>.json``) stores a small sweep's configuration and,
for every method x task x generated metric id, the values over its seeds v_1..v_S, their
mean and sample sd, and a tolerance derived from that spread:

    tolerance = max(3 * sd / sqrt(S), 1e-6 * max(1, |mean|))

i.e. three standard errors of the seed mean (the floor only absorbs float rounding where
the seeds agree exactly). ``check`` re-runs the same sweep (or reads ``--results``),
takes the mean over the same seeds and flags a metric as drifted when
|mean_now - mean_baseline| > tolerance. Runs are deterministic for a seed, so an unchanged
tree reproduces the baseline exactly. ``--update`` re-makes the baseline on purpose.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.core.cache import atomic_path
from benchmark.core.errors import UserError
from benchmark.records import RunRecord, provenance

GRID_KEYS = ("methods", "tasks", "seeds")
SWEEP_DEFAULTS = {"profile": "smoke", "preset": "tiny", "dataset": None, "steps": None,
                  "budget": None, "sampling_steps": None, "guidance": None,
                  "evaluator": "embedded", "weights": None, "protocol": "task",
                  "metrics": []}
"""The run settings a baseline's sweep holds besides its grid, with the values a baseline
that does not name one (older baselines name only profile, budget and protocol) means."""


@dataclass
class Comparison:
    key: str
    baseline: float
    baseline_sd: float
    now: float | None
    tolerance: float

    @property
    def drifted(self) -> bool:
        return self.now is None or abs(self.now - self.baseline) > self.tolerance


def metric_key(record: RunRecord, metric_id: str) -> str:
    return f"{record.method}/{record.task}/{metric_id}"


def tolerance(values: Sequence[float]) -> float:
    """Three standard errors of the seed mean, floored at float-rounding size."""
    values = np.asarray(values, dtype=np.float64)
    sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return max(3.0 * sd / math.sqrt(len(values)), 1e-6 * max(1.0, abs(float(values.mean()))))


def seed_values(records: Sequence[RunRecord]) -> dict[str, dict[int, float]]:
    """metric key -> {seed: value} over the ``ok`` records' generated metrics."""
    values: dict[str, dict[int, float]] = {}
    for record in records:
        if record.status != "ok":
            continue
        for metric_id, value in record.metrics.items():
            values.setdefault(metric_key(record, metric_id), {})[record.seed] = value["value"]
    return values


def make_baseline(name: str, sweep: dict, records: Sequence[RunRecord]) -> dict:
    metrics = {}
    for key, by_seed in sorted(seed_values(records).items()):
        values = [by_seed[s] for s in sorted(by_seed)]
        metrics[key] = {
            "seeds": sorted(by_seed), "values": values, "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "tolerance": tolerance(values),
        }
    return {"name": name, "sweep": sweep,
            "tolerance_rule": "max(3 * sd / sqrt(seeds), 1e-6 * max(1, |mean|))",
            "made_with": provenance("baseline")["git"], "metrics": metrics}


def compare(baseline: dict, records: Sequence[RunRecord]) -> list[Comparison]:
    """Each baseline metric against the mean over the baseline's seeds now (None: absent)."""
    now = seed_values(records)
    comparisons = []
    for key, stored in baseline["metrics"].items():
        by_seed = now.get(key, {})
        present = [by_seed[s] for s in stored["seeds"] if s in by_seed]
        value = float(np.mean(present)) if len(present) == len(stored["seeds"]) else None
        comparisons.append(Comparison(key, stored["mean"], stored["sd"], value,
                                      stored["tolerance"]))
    return comparisons


def diff_table(comparisons: Sequence[Comparison], only_drifted: bool = False) -> str:
    header = f"{'metric':<62} {'baseline (sd)':>20} {'now':>11} {'|diff|':>10} {'tol':>10}  "
    lines = [header + "status", "-" * (len(header) + 7)]
    for c in comparisons:
        if only_drifted and not c.drifted:
            continue
        now = "missing" if c.now is None else f"{c.now:.6g}"
        diff = "" if c.now is None else f"{abs(c.now - c.baseline):.3g}"
        lines.append(f"{c.key:<62} {f'{c.baseline:.6g} ({c.baseline_sd:.2g})':>20} {now:>11} "
                     f"{diff:>10} {c.tolerance:>10.3g}  {'DRIFT' if c.drifted else 'ok'}")
    return "\n".join(lines)


def load_baseline(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"no baseline at {path}: make one with `python -m benchmark check "
                        f"--baseline {path} --update --methods ... --tasks ... --seeds ...`")
    try:
        baseline = json.loads(path.read_text())
        valid = isinstance(baseline["metrics"], dict) and isinstance(baseline["sweep"], dict)
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise UserError(f"{path} is not an anybench baseline (re-make it with --update)")
    missing = [k for k in GRID_KEYS if k not in baseline["sweep"]]
    if missing:
        raise UserError(f"{path} lacks sweep settings {missing} (re-make it with --update)")
    baseline["sweep"] = {**SWEEP_DEFAULTS, **baseline["sweep"]}
    return baseline


def write_baseline(path: Path, baseline: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")


def sweep_records(sweep: dict, results: Path | None, jobs: int, progress: bool
                  ) -> list[RunRecord]:
    """Run (or, with ``results``, resume / read) the sweep and return its records; ``sweep``
    holds the grid and every key of SWEEP_DEFAULTS (as load_baseline completes it)."""
    from benchmark.sweep import completed_records, plan, run_sweep

    folder = results or Path(tempfile.mkdtemp(prefix="anybench-check-"))
    settings = {key: sweep[key] for key in SWEEP_DEFAULTS}
    if settings["weights"] is not None:
        settings["weights"] = Path(settings["weights"])
    settings["metrics"] = tuple(settings["metrics"])
    configs, _ = plan(sweep["methods"], sweep["tasks"], sweep["seeds"], results_dir=folder,
                      **settings)
    outcome = run_sweep(configs, jobs=jobs, progress=progress)
    if outcome.interrupted:
        raise KeyboardInterrupt
    return completed_records(configs)

"""``python -m benchmark check``: fail CI when a code change moves the metrics.

A baseline (``results/baselines/<name>.json``) stores a small sweep's configuration and,
for every method x task x generated metric id, the values over its seeds v_1..v_S, their
mean and sample sd, and a tolerance derived from that spread:

    tolerance = max(3 * sd / sqrt(S), 1e-6 * max(1, |mean|))

i.e. three standard errors of the seed mean (the floor only absorbs float rounding where
the seeds agree exactly). ``check`` re-runs the same sweep (or reads ``--results``),
takes the mean over the same seeds and flags a metric as drifted when
|mean_now - mean_baseline| > tolerance, or when the value now, the baseline's mean or its
tolerance is NaN or infinite (a baseline is never made from such values). Runs are
deterministic for a seed, so an unchanged tree reproduces the baseline exactly
when each run computes with the baseline's thread count (its sweep's ``threads``, which
``check`` passes on; benchmark/core/threads.py).
``--update`` re-makes the baseline on purpose.

Exact agreement holds only on one CPU family (benchmark/core/cpu_identity.py): another
CPU's kernels add in another order. A baseline names the CPU its runs were made on
(``cpu``). A metric whose baseline has two or more seeds has a measured spread and is
compared on any CPU; a one-seed metric (tolerance at the float-rounding floor) is compared
only when every run behind its value now ran on the baseline's CPU, and is otherwise
reported as ``other CPU``, not compared, and does not fail the check. A baseline or record
that names no CPU (made before they did) is compared as before.
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
from benchmark.core.cpu_identity import describe
from benchmark.core.errors import UserError
from benchmark.results.records import RunRecord
from benchmark.run.record import provenance

GRID_KEYS = ("methods", "tasks", "seeds")
SWEEP_DEFAULTS = {"profile": "smoke", "preset": "tiny", "dataset": None, "steps": None,
                  "budget": None, "sampling_steps": None, "guidance": None,
                  "evaluator": "embedded", "weights": None, "protocol": "task",
                  "metrics": []}
"""The run settings a baseline's sweep holds besides its grid, with the values a baseline
that does not name one (older baselines name only profile, budget and protocol) means."""


BASELINE_ENTRY_KEYS = ("seeds", "mean", "sd", "tolerance")
"""What ``compare`` reads from each metric entry of a baseline."""


@dataclass
class Comparison:
    """One baseline metric against its seed mean now (None: some seed's value is absent);
    ``compared`` False: a one-seed metric whose runs now ran on another CPU than the
    baseline's (see the module doc)."""

    key: str
    baseline: float
    baseline_sd: float
    now: float | None
    tolerance: float
    compared: bool = True

    @property
    def status(self) -> str:
        """``ok``, ``other CPU`` (not compared), ``DRIFT`` (beyond tolerance, or missing
        now), or ``DRIFT (NaN now)`` and the like when the value now, the baseline mean or
        the tolerance is NaN or infinite: a non-finite number never passes (NaN compares
        false with everything, so ``|now - mean| > tolerance`` alone would call it ok)."""
        if not self.compared and self.now is not None:
            return "other CPU"
        if self.now is None:
            return "DRIFT"
        for name, value in (("now", self.now), ("baseline", self.baseline),
                            ("tolerance", self.tolerance)):
            if not math.isfinite(value):
                return f"DRIFT ({'NaN' if math.isnan(value) else value} {name})"
        return "DRIFT" if abs(self.now - self.baseline) > self.tolerance else "ok"

    @property
    def drifted(self) -> bool:
        return self.status not in ("ok", "other CPU")


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


def record_cpu(record: RunRecord) -> dict | None:
    """The identity of the CPU a record's run computed on (None: the record predates it)."""
    return record.provenance.get("hardware", {}).get("cpu")


def common_cpu(records: Sequence[RunRecord]) -> dict | None:
    """The CPU every one of ``records`` ran on; None when they ran on several or one does
    not say."""
    cpus = [record_cpu(record) for record in records]
    return cpus[0] if cpus and all(cpu is not None and cpu == cpus[0] for cpu in cpus) else None


def make_baseline(name: str, sweep: dict, records: Sequence[RunRecord]) -> dict:
    """The baseline of ``records``' generated metrics: per metric key the seeds, values,
    mean, sd and tolerance, and the CPU the runs were made on (:func:`common_cpu`). A NaN
    or infinite value is a UserError naming each one: a baseline made from it could never
    be matched (see :attr:`Comparison.status`)."""
    values_by_key = seed_values(records)
    non_finite = [f"{key} seed {seed} = {value}" for key, by_seed in sorted(values_by_key.items())
                  for seed, value in sorted(by_seed.items()) if not math.isfinite(value)]
    if non_finite:
        raise UserError(f"cannot make a baseline from non-finite values ({'; '.join(non_finite)})"
                        ": find why those runs gave them, then run --update again")
    metrics = {}
    for key, by_seed in sorted(values_by_key.items()):
        values = [by_seed[s] for s in sorted(by_seed)]
        metrics[key] = {
            "seeds": sorted(by_seed), "values": values, "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "tolerance": tolerance(values),
        }
    return {"name": name, "sweep": sweep,
            "tolerance_rule": "max(3 * sd / sqrt(seeds), 1e-6 * max(1, |mean|))",
            "made_with": provenance("baseline")["git"], "cpu": common_cpu(records),
            "metrics": metrics}


def compare(baseline: dict, records: Sequence[RunRecord]) -> list[Comparison]:
    """Each baseline metric against the mean over the baseline's seeds now (None: absent);
    a one-seed metric is not compared when a run behind it ran on another CPU than the
    baseline's (module doc)."""
    now = seed_values(records)
    baseline_cpu = baseline.get("cpu")
    other_cpu_keys = {metric_key(record, metric_id) for record in records
                      if record.status == "ok" and baseline_cpu is not None
                      and record_cpu(record) not in (None, baseline_cpu)
                      for metric_id in record.metrics}
    comparisons = []
    for key, stored in baseline["metrics"].items():
        by_seed = now.get(key, {})
        present = [by_seed[s] for s in stored["seeds"] if s in by_seed]
        value = float(np.mean(present)) if len(present) == len(stored["seeds"]) else None
        compared = len(stored["seeds"]) > 1 or key not in other_cpu_keys
        comparisons.append(Comparison(key, stored["mean"], stored["sd"], value,
                                      stored["tolerance"], compared))
    return comparisons


def other_cpu_note(baseline: dict, records: Sequence[RunRecord],
                   comparisons: Sequence[Comparison]) -> str | None:
    """The line that says how many one-seed metrics were not compared and why (None when
    every metric was)."""
    skipped = sum(not c.compared and c.now is not None for c in comparisons)
    if not skipped:
        return None
    return (f"{skipped} one-seed metrics not compared: the baseline was made on "
            f"{describe(baseline.get('cpu'))}, these runs ran on {describe(common_cpu(records))}"
            f"; one seed has no spread to allow for another CPU's rounding, so such a baseline "
            f"holds only on its own CPU (re-make it on this one with --update to check here)")


def diff_table(comparisons: Sequence[Comparison], only_drifted: bool = False) -> str:
    header = f"{'metric':<62} {'baseline (sd)':>20} {'now':>11} {'|diff|':>10} {'tol':>10}  "
    lines = [header + "status", "-" * (len(header) + 7)]
    for c in comparisons:
        if only_drifted and not c.drifted:
            continue
        now = "missing" if c.now is None else f"{c.now:.6g}"
        diff = "" if c.now is None else f"{abs(c.now - c.baseline):.3g}"
        lines.append(f"{c.key:<62} {f'{c.baseline:.6g} ({c.baseline_sd:.2g})':>20} {now:>11} "
                     f"{diff:>10} {c.tolerance:>10.3g}  {c.status}")
    return "\n".join(lines)


def load_baseline(path: Path, *, entries: bool = True) -> dict:
    """The baseline at ``path`` with its sweep completed from SWEEP_DEFAULTS; a one-line
    UserError when it is absent, not a baseline, lacks grid settings or (unless
    ``entries`` is False: ``--update`` reads only the sweep it re-makes the entries of)
    holds a metric entry ``compare`` cannot read."""
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
    for key, entry in baseline["metrics"].items() if entries else ():
        problem = _entry_problem(entry)
        if problem:
            raise UserError(f"{path}: baseline entry '{key}' {problem}: re-make the baseline "
                            f"with `python -m benchmark check --baseline {path} --update`")
    baseline["sweep"] = {**SWEEP_DEFAULTS, **baseline["sweep"]}
    return baseline


def _entry_problem(entry: object) -> str | None:
    """What is wrong with one metric entry of a baseline (None: it has every key of
    :data:`BASELINE_ENTRY_KEYS`, numbers and a list of integer seeds). A NaN number is
    kept: ``compare`` reports it as drift."""
    if not isinstance(entry, dict):
        return "is not a JSON object"
    absent = [k for k in BASELINE_ENTRY_KEYS if k not in entry]
    if absent:
        return f"lacks {', '.join(repr(k) for k in absent)}"
    seeds = entry["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(_is_integer(s) for s in seeds):
        return f"has 'seeds' {seeds!r}, not a list of integers"
    for key in BASELINE_ENTRY_KEYS[1:]:
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"has {key!r} {value!r}, not a number"
    return None


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def write_baseline(path: Path, baseline: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")


def sweep_records(sweep: dict, results: Path | None, jobs: int, progress: bool
                  ) -> list[RunRecord]:
    """Run (or, with ``results``, resume / read) the sweep and return its records; ``sweep``
    holds the grid and every key of SWEEP_DEFAULTS (as load_baseline completes it)."""
    from benchmark.results.folder import prepare

    folder = results or Path(tempfile.mkdtemp(prefix="anybench-check-"))
    prepare(folder)  # before anything else (no torch import yet): a bad --results fails now
    from benchmark.sweep.planning import completed_records, plan, run_sweep

    settings = {key: sweep[key] for key in SWEEP_DEFAULTS}
    if settings["weights"] is not None:
        settings["weights"] = Path(settings["weights"])
    settings["metrics"] = tuple(settings["metrics"])
    configs, _ = plan(sweep["methods"], sweep["tasks"], sweep["seeds"], results_dir=folder,
                      **settings)
    outcome = run_sweep(configs, jobs=jobs, progress=progress, threads=sweep.get("threads"))
    if outcome.interrupted:
        raise KeyboardInterrupt
    return completed_records(configs)

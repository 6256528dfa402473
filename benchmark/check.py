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
CPU's kernels add in another order, and after a thousand training steps the difference is
visible (the demo's FID 2.063 on the Xeon its baseline was made on, 2.003 on an AMD EPYC).
A baseline and every record name the CPU they were made on (``cpu``), and each metric is
compared by one of these rules:

- ``same CPU`` (the baseline and every run behind the value now name the same CPU): the
  tolerance above, so an unchanged tree must reproduce the baseline to rounding;
- ``95% interval`` (another CPU, or one side names none): the baseline mean must lie
  within the runs' own 95% interval (each record's ``[ci_low, ci_high]``, the bounds
  averaged over the seeds), widened on both sides by the tolerance above. The interval is
  how far the value moves with the finite test set alone, so rounding that grew through
  training passes and gross drift does not. A zero-width interval (every item scored the
  same, e.g. an accuracy of 1.0) is widened to +-3/n, the rule-of-three 95% bound on a
  rate never seen in n items. Measured: rerun on an Intel Xeon, the 160 metrics of the
  ci-smoke baseline (made at another commit, on a CPU it does not name) moved by at most
  0.36 of their interval's half-width, and the demo's FID moved 0.06 between two CPUs
  where its interval is [1.31, 2.70];
- a metric without an interval on another CPU is compared by the tolerance above when its
  baseline has two or more seeds, and is ``not compared`` (reported, not failed) when it
  has one: nothing measures how far it may move.

``check`` prints each metric's rule and writes the comparison, with both CPUs, beside the
runs (:func:`comparison_record`).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.core.cache import atomic_path
from benchmark.core.cpu_identity import describe
from benchmark.core.errors import UserError
from benchmark.core.progress import stage
from benchmark.results.records import RunRecord

GRID_KEYS = ("methods", "tasks", "seeds")
SWEEP_DEFAULTS = {"profile": "smoke", "preset": "tiny", "dataset": None, "steps": None,
                  "budget": None, "sampling_steps": None, "guidance": None,
                  "evaluator": "embedded", "weights": None, "protocol": "task",
                  "metrics": []}
"""The run settings a baseline's sweep holds besides its grid, with the values a baseline
that does not name one (older baselines name only profile, budget and protocol) means."""


BASELINE_ENTRY_KEYS = ("seeds", "mean", "sd", "tolerance")
"""What ``compare`` reads from each metric entry of a baseline."""


SAME_CPU = "same CPU"
INTERVAL = "95% interval"
SEED_SPREAD = "seed spread"
NOT_COMPARED = "not compared"


@dataclass
class Comparison:
    """One baseline metric against its seed mean now (None: some seed's value is absent).

    ``same_cpu``: the baseline and every run behind ``now`` name one CPU; otherwise
    ``interval`` is the runs' 95% interval now (bounds averaged over the seeds, widened when
    of zero width; None where a record has none) and ``seeds`` the baseline's seed count
    (module doc)."""

    key: str
    baseline: float
    baseline_sd: float
    now: float | None
    tolerance: float
    same_cpu: bool = True
    interval: tuple[float, float] | None = None
    seeds: int = 1

    @property
    def rule(self) -> str:
        """How the metric is compared: SAME_CPU, INTERVAL, SEED_SPREAD or NOT_COMPARED."""
        if self.same_cpu:
            return SAME_CPU
        if self.interval is not None:
            return INTERVAL
        return SEED_SPREAD if self.seeds > 1 else NOT_COMPARED

    @property
    def allowed(self) -> float:
        """How far the baseline mean may lie from the value now: the tolerance, plus under
        INTERVAL the distance from the value now to the interval's bound on the baseline's
        side (NaN when the value now is absent)."""
        if self.now is None:
            return math.nan
        if self.rule != INTERVAL:
            return self.tolerance
        low, high = self.interval
        edge = high - self.now if self.baseline >= self.now else self.now - low
        return self.tolerance + max(edge, 0.0)

    @property
    def status(self) -> str:
        """``ok``, ``not compared``, ``DRIFT`` (beyond what is allowed, or missing now), or
        ``DRIFT (NaN now)`` and the like when the value now, the baseline mean or the
        tolerance is NaN or infinite: a non-finite number never passes (NaN compares false
        with everything, so ``|now - mean| > allowed`` alone would call it ok)."""
        if self.now is None:
            return "DRIFT"
        for name, value in (("now", self.now), ("baseline", self.baseline),
                            ("tolerance", self.tolerance)):
            if not math.isfinite(value):
                return f"DRIFT ({'NaN' if math.isnan(value) else value} {name})"
        if self.rule == NOT_COMPARED:
            return NOT_COMPARED
        return "DRIFT" if abs(self.now - self.baseline) > self.allowed else "ok"

    @property
    def drifted(self) -> bool:
        return self.status.startswith("DRIFT")


def metric_key(record: RunRecord, metric_id: str) -> str:
    return f"{record.method}/{record.task}/{metric_id}"


def tolerance(values: Sequence[float]) -> float:
    """Three standard errors of the seed mean, floored at float-rounding size."""
    values = np.asarray(values, dtype=np.float64)
    sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return max(3.0 * sd / math.sqrt(len(values)), 1e-6 * max(1.0, abs(float(values.mean()))))


def ok_metrics(records: Sequence[RunRecord]) -> Iterator[tuple[str, RunRecord, dict]]:
    """(metric key, record, its metric value dict) for every generated metric of the
    ``ok`` records: what :func:`seed_values`, :func:`seed_intervals` and
    :func:`metric_cpus` read."""
    for record in records:
        if record.status == "ok":
            for metric_id, value in record.metrics.items():
                yield metric_key(record, metric_id), record, value


def seed_values(records: Sequence[RunRecord]) -> dict[str, dict[int, float]]:
    """metric key -> {seed: value} over the ``ok`` records' generated metrics."""
    values: dict[str, dict[int, float]] = {}
    for key, record, value in ok_metrics(records):
        values.setdefault(key, {})[record.seed] = value["value"]
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
    from benchmark.run.record import provenance  # imports torch

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
    """Each baseline metric against the mean over the baseline's seeds now (None: absent),
    by the rule the CPUs behind it call for (module doc)."""
    now = seed_values(records)
    intervals = seed_intervals(records)
    cpus = metric_cpus(records)
    comparisons = []
    for key, stored in baseline["metrics"].items():
        seeds = stored["seeds"]
        by_seed = now.get(key, {})
        present = [by_seed[s] for s in seeds if s in by_seed]
        value = float(np.mean(present)) if len(present) == len(seeds) else None
        ran_on = cpus.get(key, [])
        same_cpu = baseline.get("cpu") is not None and bool(ran_on) and all(
            cpu == baseline["cpu"] for cpu in ran_on)
        comparisons.append(Comparison(
            key, stored["mean"], stored["sd"], value, stored["tolerance"], same_cpu,
            None if same_cpu else mean_interval(intervals.get(key, {}), seeds), len(seeds)))
    return comparisons


def seed_intervals(records: Sequence[RunRecord]
                   ) -> dict[str, dict[int, tuple[float, float, int]]]:
    """metric key -> {seed: (ci_low, ci_high, n)} of the ``ok`` records' generated metrics
    that have a finite interval."""
    intervals: dict[str, dict[int, tuple[float, float, int]]] = {}
    for key, record, value in ok_metrics(records):
        low, high = value.get("ci_low"), value.get("ci_high")
        if low is not None and high is not None and math.isfinite(low + high):
            intervals.setdefault(key, {})[record.seed] = (low, high, value.get("n") or 0)
    return intervals


def mean_interval(by_seed: dict[int, tuple[float, float, int]], seeds: Sequence[int]
                  ) -> tuple[float, float] | None:
    """The 95% interval of the seed mean's comparison: each bound averaged over ``seeds``
    (None unless every seed has one); a zero-width one widened to +-3/n (module doc)."""
    if not seeds or any(seed not in by_seed for seed in seeds):
        return None
    low = float(np.mean([by_seed[s][0] for s in seeds]))
    high = float(np.mean([by_seed[s][1] for s in seeds]))
    n = min(by_seed[s][2] for s in seeds)
    if high == low and n > 0:
        low, high = low - 3.0 / n, high + 3.0 / n
    return low, high


def metric_cpus(records: Sequence[RunRecord]) -> dict[str, list[dict | None]]:
    """metric key -> the CPU of each ``ok`` run behind it (None where a record names none)."""
    cpus: dict[str, list[dict | None]] = {}
    for key, record, _ in ok_metrics(records):
        cpus.setdefault(key, []).append(record_cpu(record))
    return cpus


def rule_summary(baseline: dict, records: Sequence[RunRecord],
                 comparisons: Sequence[Comparison]) -> str:
    """Where the runs ran, where the baseline was made, and how many metrics each rule
    compared."""
    counts = {rule: sum(c.rule == rule for c in comparisons)
              for rule in (SAME_CPU, INTERVAL, SEED_SPREAD, NOT_COMPARED)}
    counted = ", ".join(f"{count} by {rule}" if rule != NOT_COMPARED else f"{count} {rule}"
                        for rule, count in counts.items() if count)
    line = (f"compared on {describe(common_cpu(records))} against a baseline made on "
            f"{describe(baseline.get('cpu'))}: {counted}")
    if counts[NOT_COMPARED]:
        line += (" (one seed and no interval on another CPU: nothing says how far they may "
                 "move; re-make the baseline on this CPU with --update to compare them here)")
    return line


def comparison_record(baseline_path: Path, baseline: dict, records: Sequence[RunRecord],
                      comparisons: Sequence[Comparison]) -> dict:
    """What ``check`` writes beside the runs: the baseline, both CPUs, the commit checked
    and each metric's values, rule, allowed distance and status."""
    from benchmark.run.record import provenance  # imports torch

    return {
        "baseline": str(baseline_path), "baseline_cpu": baseline.get("cpu"),
        "cpu": common_cpu(records), "checked_with": provenance("check")["git"],
        "drifted": sum(c.drifted for c in comparisons),
        "metrics": {c.key: {"baseline": c.baseline, "now": c.now, "rule": c.rule,
                            "interval": c.interval, "tolerance": c.tolerance,
                            "allowed": None if c.now is None else c.allowed,
                            "status": c.status}
                    for c in comparisons},
    }


def diff_table(comparisons: Sequence[Comparison], only_drifted: bool = False) -> str:
    header = (f"{'metric':<62} {'baseline (sd)':>20} {'now':>11} {'|diff|':>10} "
              f"{'allowed':>10}  {'rule':<12}  ")
    lines = [header + "status", "-" * (len(header) + 7)]
    for c in comparisons:
        if only_drifted and not c.drifted:
            continue
        now = "missing" if c.now is None else f"{c.now:.6g}"
        diff = "" if c.now is None else f"{abs(c.now - c.baseline):.3g}"
        allowed = "" if c.now is None else f"{c.allowed:.3g}"
        lines.append(f"{c.key:<62} {f'{c.baseline:.6g} ({c.baseline_sd:.2g})':>20} {now:>11} "
                     f"{diff:>10} {allowed:>10}  {c.rule:<12}  {c.status}")
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


def write_comparison(folder: Path, baseline_path: Path, comparison: dict) -> Path:
    """Write :func:`comparison_record` as ``checks/<baseline name>.json`` in the sweep's
    folder (a subfolder: records are the folder's own ``*.json``), replacing an earlier
    check's atomically, and return its path."""
    path = folder / "checks" / f"{baseline_path.stem}.json"
    path.parent.mkdir(exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(comparison, indent=1, sort_keys=True) + "\n")
    return path


def sweep_records(sweep: dict, results: Path | None, jobs: int, progress: bool
                  ) -> tuple[Path, list[RunRecord]]:
    """Run (or, with ``results``, resume / read) the sweep; its folder (``results`` or a
    fresh temporary one) and its records. ``sweep`` holds the grid and every key of
    SWEEP_DEFAULTS (as load_baseline completes it)."""
    from benchmark.results.folder import prepare

    folder = results or Path(tempfile.mkdtemp(prefix="anybench-check-"))
    prepare(folder)  # before anything else (no torch import yet): a bad --results fails now
    runs = len(sweep["methods"]) * len(sweep["tasks"]) * len(sweep["seeds"])
    stage(f"the baseline's sweep: {runs} runs ({', '.join(sweep['methods'])} x "
          f"{', '.join(sweep['tasks'])} x seeds {sweep['seeds']}) in {folder}, "
          f"{jobs} at a time")
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
    return folder, completed_records(configs)

"""The example suite's wall-clock, and where it goes.

Runs the README's example sweep (5 methods x 6 directed tasks x 3 seeds, suite protocol,
``samples=128000``, two jobs) as one ``python -m benchmark sweep`` process, timed, into a
fresh results folder, then breaks its time down from the records it wrote. The parts are
process-seconds (the sweep runs ``--jobs`` processes side by side), shown as shares of
``jobs x wall-clock``:

- training: each training's budget clock (a suite-protocol training serves six records and
  is counted once);
- sampling, scoring, reference rows and checkpoints: each record's evaluation phases
  (``timing.stages``, benchmark/core/stage_clock.py), with decoding, evaluator features and
  metrics summed over the phases;
- the rest: process start, imports, loading the caches, building the Trainer, the FLOP
  probe, writing files, and idle job slots at the end of the sweep.

    python benchmarks/suite_wallclock.py [--results DIR] [--seeds 0,1,2] [--jobs 2]
    python benchmarks/suite_wallclock.py --results results/example-suite --no-run
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmark.results.folder import read_runs
from benchmark.results.records import RunRecord


def sweep_command(results: Path, args: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", "benchmark", "sweep", "--methods", args.methods, "--tasks",
            "directed", "--seeds", args.seeds, "--protocol", "suite", "--budget", args.budget,
            "--jobs", str(args.jobs), "--results", str(results), "--no-progress"]


def breakdown(records: list[RunRecord]) -> dict[str, float]:
    """Process-seconds by part (see the module doc)."""
    parts: dict[str, float] = defaultdict(float)
    trainings = {(r.method, r.seed, r.training_log): r.timing["train_s"] for r in records}
    parts["training"] = sum(trainings.values())
    for record in records:
        stages = record.timing.get("stages")
        if stages is None:  # a record from before stage timing: phases only
            for phase in ("sample_s", "eval_s", "curve_eval_s"):
                parts[f"{phase[:-2]} (no stage timing)"] += record.timing[phase]
            continue
        for path, seconds in stages.items():
            parts[_part(path, record.task)] += seconds
    return dict(parts)


def _part(path: str, task: str) -> str:
    """The breakdown row of a stage path: decoding by modality, evaluator features, metric
    families and sampling wherever they happen; the phase for the rest."""
    names = path.split("/")
    for kind in ("decode", "features", "metric"):
        if kind in names:
            at = names.index(kind)
            return "/".join(names[at:at + 2])
    if names[-1] == "sample":
        return "sample"
    return names[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=None,
                        help="folder for the sweep's records (default: a temporary one)")
    parser.add_argument("--no-run", action="store_true",
                        help="only break down the records already in --results")
    parser.add_argument("--methods", default="all")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", default="samples=128000")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = args.results or Path(scratch) / "suite"
        wall = None
        if not args.no_run:
            if results.exists() and any(results.glob("*.json")):
                sys.exit(f"{results} already holds records (the sweep would skip them): "
                         "give an empty or new --results")
            started = time.perf_counter()
            subprocess.run(sweep_command(results, args), check=True)
            wall = time.perf_counter() - started
        runs = read_runs(results)
    records = runs.records
    parts = breakdown(records)
    budget = args.jobs * wall if wall else sum(parts.values())
    if wall:
        parts["rest (start-up, loading, setup, idle slots)"] = budget - sum(parts.values())
        print(f"wall-clock {wall:.0f} s ({wall / 60:.1f} min) for {len(records)} records, "
              f"{args.jobs} jobs: {budget:.0f} process-seconds\n")
    else:
        print(f"{len(records)} records; wall-clock not measured (--no-run): shares are of "
              "the timed parts only\n")
    print("| part | process-seconds | share |")
    print("|---|---:|---:|")
    for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"| {name} | {seconds:.0f} | {seconds / budget:.1%} |")


if __name__ == "__main__":
    main()

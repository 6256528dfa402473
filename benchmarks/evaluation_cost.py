"""Evaluation cost: seconds per stage of scoring one run of each directed task.

One method (FlowBind by default) is trained once for every task (``--protocol suite``,
a short steps budget: the cost of scoring does not depend on how well it was trained) and
each directed task is evaluated as ``run`` evaluates it, into a temporary results folder.
The record's ``timing.stages`` (benchmark/core/stage_clock.py) says where the time went;
this script prints it per task, as self seconds of each stage path:

- ``sample``: generating the test items' embeddings;
- ``evaluate/decode/<modality>``: decoding them to media (audio: Griffin-Lim);
- ``evaluate/features/<role>/<modality>``: the evaluators' features of the generated
  media (and, once per process, of the real test media);
- ``evaluate/metric/<name>``: each metric family on those features;
- ``reference_rows``: the oracle and chance rows and the ceilings, which ``run`` reads from
  the cache after the first time; they are computed here uncached, so the table shows what
  the first run of a (task, seed) pays;
- ``checkpoints/...``: the same stages again for each quality-vs-compute checkpoint.

    python benchmarks/evaluation_cost.py [--method flowbind] [--steps 100]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

from benchmark.core.config import RunConfig
from benchmark.core.stage_clock import StageClock, timed
from benchmark.core.tasks import all_tasks
from benchmark.profiles import PROFILES
from benchmark.run.pipeline import run_tasks
from benchmark.run.preparation import prepare_inputs
from benchmark.scoring.evaluation import metric_specs
from benchmark.scoring.reference_rows import compute_reference_rows
from benchmark.scoring.task_evaluation import build_evaluators


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="flowbind")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--min-seconds", type=float, default=0.05,
                        help="leave out stages below this in every task")
    args = parser.parse_args()
    tasks = [task for task in all_tasks() if task.kind == "directed"]
    with tempfile.TemporaryDirectory() as results:
        configs = [RunConfig(method=args.method, task=task, protocol="suite",
                             profile=args.profile, budget=f"steps={args.steps}",
                             results_dir=Path(results), progress=False) for task in tasks]
        records = [record for record, _ in run_tasks(configs)]
    seconds: dict[str, dict[str, float]] = defaultdict(dict)
    for record in records:
        for path, value in record.timing["stages"].items():
            if not path.startswith("evaluate/reference_rows"):  # cached: timed below
                seconds[path][record.task] = value

    inputs = prepare_inputs(PROFILES.get(args.profile), progress=False)
    reference = inputs.real_reference(build_evaluators(configs[0], inputs), metric_specs())
    for task in tasks:
        with StageClock() as clock, timed("reference_rows"):
            compute_reference_rows(task, 0, inputs, reference)
        for path, value in clock.seconds.items():
            seconds[path][task.name] = value

    names = [task.name for task in tasks]
    print(f"{args.method} (suite protocol, {args.steps} steps), self seconds per stage\n")
    print("| stage | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for path in sorted(seconds):
        row = seconds[path]
        if max(row.values()) >= args.min_seconds:
            print(f"| {path} | " + " | ".join(f"{row.get(n, 0.0):.2f}" for n in names) + " |")
    totals = [sum(row.get(n, 0.0) for row in seconds.values()) for n in names]
    print("| **total** | " + " | ".join(f"**{t:.1f}**" for t in totals) + " |")


if __name__ == "__main__":
    main()

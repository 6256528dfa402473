"""``python -m benchmark sweep``: methods x tasks x seeds as separate run processes,
resumable, several at a time; a summary table at the end."""

from __future__ import annotations

import argparse
import sys

from benchmark.cli.arguments import (
    add_output,
    add_run_grid,
    add_run_settings,
    method_names,
    positive_int,
    run_settings,
    seed_list,
    task_names,
)
from benchmark.cli.command import Command


class SweepCommand(Command):
    name = "sweep"
    help = "run methods x tasks x seeds, resumable, several at a time; summarize at the end"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_run_grid(parser, single=False)
        add_run_settings(parser)
        parser.add_argument("--jobs", type=positive_int, default=1,
                            help="runs at a time, each with cpu_count/jobs threads")
        add_output(parser, results_help="folder of RunRecords (resumes from the ok ones there)")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.summary import sweep_table
        from benchmark.sweep import completed_records, plan, run_sweep

        configs, refused = plan(
            method_names(args.methods), task_names(args.tasks), seed_list(args.seeds),
            results_dir=args.results, **run_settings(args),
        )
        for line in refused:
            print(f"skipped (refused): {line}", file=sys.stderr)
        outcome = run_sweep(configs, jobs=args.jobs, progress=not args.no_progress)
        records = completed_records(configs)
        if records:
            print(sweep_table(records))
        print(f"{len(outcome.done)} run, {len(outcome.skipped)} already done, "
              f"{len(outcome.failed)} failed, {len(refused)} refused; records in {args.results}")
        if outcome.interrupted:
            print("interrupted: run the same command again to finish the missing runs",
                  file=sys.stderr)
            return 130
        return 1 if outcome.failed else 0

"""``python -m benchmark sweep``: methods x tasks x seeds as separate run processes,
resumable, several at a time; a summary table at the end."""

from __future__ import annotations

import argparse
import sys

from benchmark.cli.arguments import (
    add_output,
    add_run_grid,
    add_run_settings,
    positive_int,
    run_settings,
)
from benchmark.cli.command import Command
from benchmark.core import exit_codes


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
        from benchmark.results_folder import prepare

        prepare(args.results)  # first (no torch import yet): a bad --results fails at once
        from benchmark.summary import sweep_table
        from benchmark.sweep import completed_records, plan, run_sweep

        configs, refused = plan(
            args.methods, args.tasks, args.seeds,
            results_dir=args.results, logger=args.logger, **run_settings(args),
        )
        for line in refused:
            print(f"skipped (refused): {line}", file=sys.stderr)
        outcome = run_sweep(configs, jobs=args.jobs, progress=not args.no_progress)
        records = completed_records(configs)
        if records:
            print(sweep_table(records))
        print(f"{len(outcome.done)} run, {len(outcome.skipped)} already done, "
              f"{len(outcome.failed)} failed, {len(refused)} refused, "
              f"{len(outcome.elsewhere)} running elsewhere; records in {args.results}")
        if outcome.elsewhere:
            print(f"{len(outcome.elsewhere)} runs are being made by another process on "
                  f"{args.results}: run the same command again once it is done to list them",
                  file=sys.stderr)
        if outcome.interrupted:
            print("interrupted: run the same command again to finish the missing runs",
                  file=sys.stderr)
            return exit_codes.INTERRUPTED
        return exit_codes.RUN_FAILED if outcome.failed else exit_codes.OK

"""``python -m benchmark run``: train one method on one task (or, with ``--protocol suite``,
on several tasks from one training) and write a RunRecord per task."""

from __future__ import annotations

import argparse

from benchmark.cli.arguments import add_output, add_run_grid, add_run_settings, run_settings
from benchmark.cli.command import Command
from benchmark.core.config import RunConfig


class RunCommand(Command):
    name = "run"
    help = "train one method on one task and write a RunRecord"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_run_grid(parser, single=True)
        add_run_settings(parser)
        add_output(parser, results_help="folder for the RunRecord JSON (default: results/runs)")

    def __call__(self, args: argparse.Namespace) -> int:
        from methods import METHODS

        METHODS.entry(args.method)  # cheap name check first: no torch import yet
        configs = [
            RunConfig(method=args.method, task=task, seed=args.seed,
                      results_dir=args.results, progress=not args.no_progress,
                      **run_settings(args))
            for task in args.task.split(",")
        ]
        from benchmark.resolution import resolve
        from benchmark.runner import run_tasks
        from benchmark.summary import run_table

        for config in configs:
            resolve(config)
        for record, path in run_tasks(configs):
            print(run_table(record))
            print(f"record: {path}")
        return 0

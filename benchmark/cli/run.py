"""``python -m benchmark run``: train one method on one task (or, with ``--protocol suite``,
on several tasks from one training) and write a RunRecord per task.

Before any work the results folder is made ready (benchmark/results_folder.py) and every
run key the command will write is claimed (benchmark/run_claims.py): a second identical
``run`` on the same folder exits 2 at once. A run that crashes (anything but a UserError
or an interrupt, a NonFiniteOutput included) prints its traceback, writes a ``failed``
record per task and exits 3 (benchmark/core/exit_codes.py).
"""

from __future__ import annotations

import argparse
import sys
import traceback

from benchmark.cli.arguments import add_output, add_run_grid, add_run_settings, run_settings
from benchmark.cli.command import Command
from benchmark.core import exit_codes
from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError

FAILED_RECORD_LINES = 20
"""How many of the traceback's last lines a ``failed`` record keeps as its error."""


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
                      logger=args.logger,
                      **run_settings(args))
            for task in args.task.split(",")
        ]
        from benchmark.results_folder import prepare
        from benchmark.run_claims import claimed

        prepare(args.results)  # before any work (no torch import yet)
        labels = {config.run_key(): f"{config.method} {config.task.name} seed {config.seed}"
                  for config in configs}
        with claimed(args.results, labels):
            from benchmark.resolution import resolve

            for config in configs:
                resolve(config)
            return _run(configs)


def _run(configs: list[RunConfig]) -> int:
    """Run ``configs`` (one training) with :func:`run_threads` torch threads and print each
    record; when the run raises anything but a UserError or an interrupt, print the
    traceback, write a ``failed`` record per config with its last lines, and return
    RUN_FAILED."""
    import torch

    from benchmark.core.threads import run_threads
    from benchmark.preparation import stage
    from benchmark.records import failed_record, write_record
    from benchmark.runner import run_tasks
    from benchmark.summary import run_table

    threads, why = run_threads()
    torch.set_num_threads(threads)
    stage(f"{threads} torch thread{'s' if threads > 1 else ''} ({why}; OMP_NUM_THREADS=N sets it)")
    try:
        results = run_tasks(configs)
    except UserError:
        raise
    except Exception:  # not KeyboardInterrupt, a BaseException: interrupted runs leave none
        text = traceback.format_exc()
        print(text, end="", file=sys.stderr)
        error = "\n".join(text.strip().splitlines()[-FAILED_RECORD_LINES:])
        for config in configs:
            path = write_record(failed_record(config, error), config.results_dir)
            print(f"the run failed: failed record {path}", file=sys.stderr)
        return exit_codes.RUN_FAILED
    for record, path in results:
        print(run_table(record))
        print(f"record: {path}")
    return exit_codes.OK

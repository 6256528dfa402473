"""``python -m benchmark run``: train one method on one task (or, with ``--protocol suite``,
on several tasks from one training) and write a RunRecord per task.

Before any work the results folder is made ready (benchmark/results/folder.py) and every
run key the command will write is claimed (benchmark/results/claims.py): a second identical
``run`` on the same folder exits 2 at once. A run that crashes (anything but a UserError
or an interrupt, a NonFiniteOutput included) prints its traceback, writes a ``failed``
record per task and exits 3 (benchmark/core/exit_codes.py).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from benchmark.cli.arguments import (
    add_distributed_settings,
    add_output,
    add_run_grid,
    add_run_settings,
    distributed_settings,
    run_settings,
    thread_request,
)
from benchmark.cli.command import Command
from benchmark.core.config import RunConfig


class RunCommand(Command):
    name = "run"
    help = "train one method on one task and write a RunRecord"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_run_grid(parser, single=True)
        add_run_settings(parser)
        add_distributed_settings(parser)
        add_output(parser, results_help="folder for the RunRecord JSON (default: results/runs)")
        parser.add_argument("--threads", type=thread_request, default=None,
                            help="torch threads: N, or auto (the CPUs idle at the start; "
                                 "faster beside other work, but the count, and so the last "
                                 "digits, then depend on the load). Default: "
                                 "OMP_NUM_THREADS when set, else every usable CPU")

    def __call__(self, args: argparse.Namespace) -> int:
        from methods import METHODS

        METHODS.entry(args.method)  # cheap name check first: no torch import yet
        configs = [
            RunConfig(method=args.method, task=task, seed=args.seed,
                      results_dir=args.results, progress=not args.no_progress,
                      logger=args.logger,
                      **run_settings(args), **distributed_settings(args))
            for task in args.task.split(",")
        ]
        from benchmark.core.progress import stage
        from benchmark.core.ranks import is_secondary_rank
        from benchmark.results.claims import claimed
        from benchmark.results.folder import prepare
        from benchmark.run.in_process import run_in_process

        if is_secondary_rank():  # one process of rank 0's training: it claimed the runs
            return run_in_process(configs, args.threads)
        prepare(args.results)  # before any work (no torch import yet)
        if args.dataset is not None:  # a dataset folder's content enters the run key
            from benchmark.run.resolution import dataset_key

            key = dataset_key(args.dataset)
            configs = [replace(config, dataset_key=key) for config in configs]
        labels = {config.run_key(): f"{config.method} {config.task.name} seed {config.seed}"
                  for config in configs}
        with claimed(args.results, labels):  # the folder is usable and the runs are ours:
            first = configs[0]                # say what runs before the method's imports
            stage(f"{first.method} on {args.task}, seed {first.seed} (preset {first.preset}, "
                  f"profile {first.profile}, protocol {first.protocol}) into {args.results}")
            from benchmark.run.resolution import resolve

            for config in configs:
                resolve(config)
            return run_in_process(configs, args.threads)

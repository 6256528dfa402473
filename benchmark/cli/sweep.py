"""``python -m benchmark sweep``: methods x tasks x seeds as separate run processes,
resumable, several at a time; a summary table at the end."""

from __future__ import annotations

import argparse
import sys

from benchmark.cli.arguments import (
    add_distributed_settings,
    add_output,
    add_run_grid,
    add_run_settings,
    distributed_settings,
    positive_int,
    run_settings,
)
from benchmark.cli.command import Command
from benchmark.core import exit_codes
from benchmark.sweep.settings import EXECUTORS, SlurmResources

SLURM_DEFAULTS = SlurmResources()
"""What each SLURM job asks for unless a ``--slurm-*`` flag says otherwise (the dataclass's
own defaults, read rather than written again)."""


class SweepCommand(Command):
    name = "sweep"
    help = "run methods x tasks x seeds, resumable, several at a time; summarize at the end"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_run_grid(parser, single=False)
        add_run_settings(parser)
        add_distributed_settings(parser)
        parser.add_argument("--jobs", type=positive_int, default=1,
                            help="runs at a time, each with (usable CPUs)/jobs threads")
        add_output(parser, results_help="folder of RunRecords (resumes from the ok ones there)")
        cluster = parser.add_argument_group("executors (benchmark/sweep/cluster.py)")
        cluster.add_argument("--executor", default="local", choices=EXECUTORS,
                             help="local (default): run processes of this sweep; "
                                  "submitit-local: submitit jobs on this machine; slurm: one "
                                  "SLURM job array through submitit (submits and returns)")
        cluster.add_argument("--dry-run", action="store_true",
                             help="print the runs or jobs that would start, start nothing")
        slurm = SLURM_DEFAULTS
        cluster.add_argument("--slurm-partition", default=slurm.partition,
                             help="partition to submit to")
        cluster.add_argument("--slurm-time", type=positive_int, default=slurm.time_min,
                             metavar="MINUTES", help="wall-clock limit of each job, "
                             f"submitit-local's too (default {slurm.time_min})")
        cluster.add_argument("--slurm-gpus-per-node", type=int, default=slurm.gpus_per_node,
                             metavar="N",
                             help=f"GPUs per node for each job (default {slurm.gpus_per_node})")
        cluster.add_argument("--slurm-cpus-per-task", type=positive_int,
                             default=slurm.cpus_per_task, metavar="N",
                             help="CPUs per task (one task per device; default "
                                  f"{slurm.cpus_per_task})")
        cluster.add_argument("--slurm-mem", type=float, default=slurm.mem_gb, metavar="GB",
                             help="memory per node in GB (default: the partition's)")
        cluster.add_argument("--slurm-array-parallelism", type=positive_int,
                             default=slurm.array_parallelism, metavar="N",
                             help="jobs of the array running at once (default "
                                  f"{slurm.array_parallelism})")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.results.folder import prepare

        prepare(args.results)  # first (no torch import yet): a bad --results fails at once
        from benchmark.results.summary import sweep_table
        from benchmark.sweep.planning import completed_records, plan, run_sweep
        from benchmark.sweep.settings import JOBS_FOLDER

        configs, refused = plan(
            args.methods, args.tasks, args.seeds,
            results_dir=args.results, logger=args.logger, **run_settings(args),
            **distributed_settings(args),
        )
        for line in refused:
            print(f"skipped (refused): {line}", file=sys.stderr)
        resources = SlurmResources(
            partition=args.slurm_partition, time_min=args.slurm_time,
            gpus_per_node=args.slurm_gpus_per_node, cpus_per_task=args.slurm_cpus_per_task,
            mem_gb=args.slurm_mem, array_parallelism=args.slurm_array_parallelism)
        outcome = run_sweep(configs, jobs=args.jobs, progress=not args.no_progress,
                            executor=args.executor, resources=resources, dry_run=args.dry_run)
        if args.dry_run:
            return exit_codes.OK
        if outcome.submitted:
            print(f"{len(outcome.submitted)} runs submitted to SLURM as jobs "
                  f"{', '.join(outcome.job_ids[:3])}{' ...' if len(outcome.job_ids) > 3 else ''}"
                  f" (job files in {args.results / JOBS_FOLDER}); run the same command again "
                  "once they are done to list the records and submit what is missing")
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

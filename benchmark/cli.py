"""``python -m benchmark``: one class per subcommand.

Only light modules are imported here, so ``--help`` and ``ls`` answer at once; each
command imports torch and friends when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, NoReturn

from benchmark.core.errors import UserError
from benchmark.core.registry import did_you_mean


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _seeds(text: str) -> list[int]:
    try:
        return [int(seed) for seed in text.split(",")]
    except ValueError:
        raise UserError(f"--seeds must be comma-separated integers, got '{text}'") from None


def _method_names(text: str) -> list[str]:
    """``all`` or comma-separated method names."""
    from methods import METHODS

    return METHODS.names() if text == "all" else text.split(",")


def _task_names(text: str) -> list[str]:
    """``directed``, ``all`` or comma-separated task names."""
    from benchmark.core.tasks import all_tasks

    if text in ("directed", "all"):
        return [t.name for t in all_tasks() if text == "all" or t.kind == "directed"]
    return text.split(",")


class Command:
    name: ClassVar[str]
    help: ClassVar[str]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def __call__(self, args: argparse.Namespace) -> int:
        raise NotImplementedError


class RunCommand(Command):
    name = "run"
    help = "train one method on one task and write a RunRecord"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--method", required=True, help="a name from `ls methods`")
        parser.add_argument("--task", required=True,
                            help="a name from `ls tasks` (several, comma-separated, with "
                                 "--protocol suite: one training, one record per task)")
        parser.add_argument("--protocol", default="task",
                            help="task (default: train for this task alone) or suite (train "
                                 "once to serve every task the method supports)")
        parser.add_argument("--preset", default="tiny", help="model size preset (default: tiny)")
        parser.add_argument("--seed", type=int, default=0, help="training and sampling seed")
        parser.add_argument("--profile", default="default",
                            help="data/backbone/judge settings: default or smoke")
        parser.add_argument("--steps", type=_positive_int, default=None,
                            help="optimizer steps (default: the preset's); same as "
                                 "--budget steps=N")
        parser.add_argument("--budget", default=None, metavar="KIND=VALUE",
                            help="training budget: samples=N, steps=N, flops=X or seconds=S "
                                 "(all four are recorded whichever is enforced)")
        parser.add_argument("--sampling-steps", type=_positive_int, default=None,
                            help="ODE steps when generating (default: the method's)")
        parser.add_argument("--guidance", type=float, default=None,
                            help="guidance scale, for methods that have one")
        parser.add_argument("--evaluator", default="embedded",
                            help="embedded (default: the dataset's judges) or pretrained "
                                 "(Inception, CLIP, CLAP from local files; see "
                                 "`prepare --check-weights`)")
        parser.add_argument("--weights", type=Path, default=None,
                            help="YAML file with pretrained evaluator paths "
                                 "(default: $ANYBENCH_WEIGHTS, else ./weights/)")
        parser.add_argument("--results", type=Path, default=Path("results/runs"),
                            help="folder for the RunRecord JSON (default: results/runs)")
        parser.add_argument("--no-progress", action="store_true", help="hide progress bars")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.core.tasks import parse_task
        from methods import METHODS
        from metrics.evaluators import check_evaluator_kind

        METHODS.entry(args.method)  # cheap name checks first: no torch import yet
        tasks = args.task.split(",")
        for task in tasks:
            parse_task(task)
        check_evaluator_kind(args.evaluator)
        from benchmark.runner import RunConfig, run_tasks, validate

        configs = [
            RunConfig(
                method=args.method, task=task, preset=args.preset, seed=args.seed,
                profile=args.profile, steps=args.steps, budget=args.budget,
                sampling_steps=args.sampling_steps, guidance=args.guidance,
                evaluator=args.evaluator, weights=args.weights, protocol=args.protocol,
                results_dir=args.results, progress=not args.no_progress,
            )
            for task in tasks
        ]
        for config in configs:
            validate(config)
        from benchmark.summary import run_table

        for record, path in run_tasks(configs):
            print(run_table(record))
            print(f"record: {path}")
        return 0


class LsCommand(Command):
    name = "ls"
    help = "list methods, tasks, datasets, metrics or profiles"
    subjects: ClassVar[tuple[str, ...]] = ("methods", "tasks", "datasets", "metrics", "profiles")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("subject", help="one of: " + ", ".join(self.subjects))

    def __call__(self, args: argparse.Namespace) -> int:
        if args.subject not in self.subjects:
            raise UserError(
                f"cannot list '{args.subject}': {did_you_mean(args.subject, list(self.subjects))}"
            )
        if args.subject == "tasks":
            from benchmark.core.tasks import all_tasks

            for task in all_tasks():
                print(f"{task.name:<18} {task.kind}")
            return 0
        registry = self._registry(args.subject)
        width = max(len(name) for name in registry.names())
        for entry in registry:
            print(f"{entry.name:<{width}}  {entry.description}")
        return 0

    @staticmethod
    def _registry(subject: str):
        if subject == "methods":
            from methods import METHODS

            return METHODS
        if subject == "datasets":
            from benchmark.data import DATASETS

            return DATASETS
        if subject == "metrics":
            from metrics import METRICS

            return METRICS
        from benchmark.profiles import PROFILES

        return PROFILES


class PrepareCommand(Command):
    name = "prepare"
    help = ("build the dataset, backbones, judges and embeddings caches; print the judges' "
            "ceilings; write a preview")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--profile", default="default", help="default or smoke")
        parser.add_argument("--preview", type=Path, default=Path("reports/preview"),
                            help="folder for the contact sheet and WAV files")
        parser.add_argument("--check-weights", action="store_true",
                            help="only report which pretrained evaluator files are present "
                                 "and how to get the missing ones (builds nothing)")
        parser.add_argument("--weights", type=Path, default=None, metavar="FILE",
                            help="YAML file of weight paths for --check-weights "
                                 "(default: $ANYBENCH_WEIGHTS, else ./weights/)")

    def __call__(self, args: argparse.Namespace) -> int:
        if args.check_weights:
            from metrics.weights import WeightsConfig, check_weights, weights_report

            config = WeightsConfig.load(args.weights)
            print(weights_report(config, check_weights(config)))
            return 0
        if args.weights is not None:
            raise UserError("--weights is only read with --check-weights here "
                            "(prepare builds no pretrained-evaluator caches); add --check-weights")
        from benchmark.preparation import prepare
        from benchmark.summary import ceilings_table

        previews, ceilings = prepare(args.profile, args.preview)
        print("embedded evaluators on the real test split (what a perfect generator scores):")
        print(ceilings_table(ceilings))
        for path in previews:
            print(path)
        return 0


class SweepCommand(Command):
    name = "sweep"
    help = "run methods x tasks x seeds, resumable, several at a time; summarize at the end"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--methods", default="all",
                            help="comma-separated names from `ls methods`, or all (default)")
        parser.add_argument("--tasks", default="directed",
                            help="comma-separated task names, or directed (default) or all")
        parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
        parser.add_argument("--budget", default=None, metavar="KIND=VALUE",
                            help="one matched training budget for every run (see run --help)")
        parser.add_argument("--steps", type=_positive_int, default=None,
                            help="optimizer steps for every run (same as --budget steps=N)")
        parser.add_argument("--preset", default="tiny", help="model size preset")
        parser.add_argument("--profile", default="default", help="default or smoke")
        parser.add_argument("--evaluator", default="embedded", help="embedded or pretrained")
        parser.add_argument("--weights", type=Path, default=None, help="see run --help")
        parser.add_argument("--protocol", default="task",
                            help="task: one training per task; suite: one training per "
                                 "method and seed, scored on every task of the sweep")
        parser.add_argument("--jobs", type=_positive_int, default=1,
                            help="runs at a time, each with cpu_count/jobs threads")
        parser.add_argument("--results", type=Path, default=Path("results/runs"),
                            help="folder of RunRecords (resumes from the ok ones there)")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.summary import sweep_table
        from benchmark.sweep import completed_records, plan, run_sweep

        configs, refused = plan(
            _method_names(args.methods), _task_names(args.tasks), _seeds(args.seeds),
            preset=args.preset, profile=args.profile,
            steps=args.steps, budget=args.budget, evaluator=args.evaluator,
            weights=args.weights, protocol=args.protocol, results_dir=args.results,
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


class ReportCommand(Command):
    name = "report"
    help = "tables (Markdown, LaTeX, CSV), plots and an HTML page from run records"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--results", type=Path, default=Path("results/runs"),
                            help="folder of RunRecords to report on (default: results/runs)")
        parser.add_argument("--name", default=None,
                            help="report name (default: the results folder's name)")
        parser.add_argument("--out", type=Path, default=Path("reports"),
                            help="where reports/<name>/ is written (default: reports)")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.report import write_report

        name = args.name or args.results.resolve().name
        report = write_report(args.results, args.out / name)
        for problem in report.problems:
            print(f"not in the report: {problem}", file=sys.stderr)
        print(f"wrote {len(report.files)} files to {report.folder}: "
              f"{report.folder / 'index.html'}, table.md, table.tex, results.csv")
        return 0


class CheckCommand(Command):
    name = "check"
    help = "re-run a baseline's sweep and exit 1 if a metric drifted beyond its tolerance"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--baseline", type=Path, required=True,
                            help="results/baselines/<name>.json")
        parser.add_argument("--update", action="store_true",
                            help="re-make the baseline on purpose (settings below, else the "
                                 "existing baseline's)")
        parser.add_argument("--results", type=Path, default=None,
                            help="read (and complete) the runs in this folder instead of "
                                 "re-running into a fresh temporary one")
        parser.add_argument("--methods", default=None, help="with --update: comma-separated")
        parser.add_argument("--tasks", default=None, help="with --update: comma-separated")
        parser.add_argument("--seeds", default=None, help="with --update: e.g. 0,1,2")
        parser.add_argument("--profile", default=None, help="with --update (default: smoke)")
        parser.add_argument("--budget", default=None, help="with --update: KIND=VALUE")
        parser.add_argument("--protocol", default=None, help="with --update: task or suite")
        parser.add_argument("--jobs", type=_positive_int, default=1, help="runs at a time")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def _sweep_settings(self, args: argparse.Namespace) -> dict:
        from benchmark.check import load_baseline

        given = {"methods": args.methods, "tasks": args.tasks, "seeds": args.seeds,
                 "profile": args.profile, "budget": args.budget, "protocol": args.protocol}
        old = load_baseline(args.baseline)["sweep"] if args.baseline.exists() else {}
        defaults = {"profile": "smoke", "budget": None, "protocol": "task"}
        sweep = {}
        for key, value in given.items():
            if value is None:
                if key not in old and key not in defaults:
                    raise UserError(f"--update of a new baseline needs --{key}")
                sweep[key] = old.get(key, defaults.get(key))
            elif key == "methods":
                sweep[key] = _method_names(value)
            elif key == "tasks":
                sweep[key] = _task_names(value)
            elif key == "seeds":
                sweep[key] = _seeds(value)
            else:
                sweep[key] = value
        return sweep

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.check import (
            compare,
            diff_table,
            load_baseline,
            make_baseline,
            sweep_records,
            write_baseline,
        )

        progress = not args.no_progress
        if args.update:
            sweep = self._sweep_settings(args)
            records = sweep_records(sweep, args.results, args.jobs, progress)
            baseline = make_baseline(args.baseline.stem, sweep, records)
            write_baseline(args.baseline, baseline)
            print(f"wrote {args.baseline}: {len(baseline['metrics'])} metrics from "
                  f"{len(records)} runs")
            return 0
        baseline = load_baseline(args.baseline)
        records = sweep_records(baseline["sweep"], args.results, args.jobs, progress)
        comparisons = compare(baseline, records)
        drifted = [c for c in comparisons if c.drifted]
        print(diff_table(comparisons))
        print(f"{len(drifted)} of {len(comparisons)} metrics drifted beyond tolerance "
              f"({baseline['tolerance_rule']})")
        return 1 if drifted else 0


COMMANDS: tuple[Command, ...] = (RunCommand(), LsCommand(), PrepareCommand(), SweepCommand(),
                                 ReportCommand(), CheckCommand())


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m benchmark",
        description="anybench: benchmark any-to-any generative models (text, image, audio).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="{" + ",".join(c.name for c in COMMANDS) + "}")
    for command in COMMANDS:
        command_parser = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(command_parser)
        command_parser.set_defaults(handler=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UserError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; no record was written", file=sys.stderr)
        return 130

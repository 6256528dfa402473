"""``python -m benchmark compare``: every pair of methods per task and metric, paired on the
test items, with intervals, p-values and Holm's correction (benchmark/verdicts/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli.command import Command
from benchmark.core.config import DEFAULT_RESULTS


def add_verdict_inputs(parser: argparse.ArgumentParser) -> None:
    """--results, --metrics and --tasks, shared by compare and power."""
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="folder of RunRecords (default: results/runs)")
    parser.add_argument("--metrics", default="",
                        help="comma-separated bare metric names, e.g. attr_acc,fid "
                             "(default: every metric the records hold)")
    parser.add_argument("--tasks", default="",
                        help="comma-separated tasks (default: every task the records hold)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def verdict_columns(args: argparse.Namespace):
    """The compared columns of the records in ``args.results`` (strict: bad input is a
    one-line UserError)."""
    from benchmark.report.collection import load_collection
    from benchmark.verdicts.comparisons import compare_columns, metric_columns

    records = load_collection(args.results).records
    columns = metric_columns(records, _names(args.metrics), _names(args.tasks))
    return compare_columns(args.results, records, columns, strict=True,
                           progress=not args.no_progress)


def _names(text: str) -> list[str]:
    return [name for name in text.split(",") if name]


class CompareCommand(Command):
    name = "compare"
    help = "paired comparisons of every pair of methods per task and metric (Holm-corrected)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_verdict_inputs(parser)

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.verdicts.tables import comparison_table

        columns = verdict_columns(args)
        print(comparison_table(columns))
        return 0

"""``python -m benchmark``: one class per subcommand, one module each.

    run      benchmark/cli/run.py       train one method on a task, write a RunRecord
    ls       benchmark/cli/ls.py        list methods, tasks, datasets, metrics, profiles
    prepare  benchmark/cli/prepare.py   build the caches, print ceilings, write a preview
    sweep    benchmark/cli/sweep.py     methods x tasks x seeds, resumable, in parallel
    report   benchmark/cli/report.py    tables, plots and a page from records
    check    benchmark/cli/check.py     the drift check against a committed baseline
    compare  benchmark/cli/compare.py   paired comparisons of every pair of methods
    power    benchmark/cli/power.py     minimum detectable differences, items/seeds needed
    claims   benchmark/cli/claims.py    verdicts on the papers' claims (claims/*.toml)
    export   benchmark/cli/export.py    write a dataset in the folder formats (an example)
    import-npz  benchmark/cli/import_npz.py  FlowBind .npz features -> an embeddings folder
    readme   benchmark/cli/readme.py    the measured tables of README.md and docs/*.md, from records

Only light modules are imported here, so ``--help`` and ``ls`` answer at once; each
command imports torch and friends when it runs. A :class:`UserError` is printed as one
line with exit status 2; anything else is a bug and keeps its traceback, with exit status 3
(never 1, the drift check's status; benchmark/core/exit_codes.py lists them all).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from benchmark.cli.check import CheckCommand
from benchmark.cli.claims import ClaimsCommand
from benchmark.cli.command import Command
from benchmark.cli.compare import CompareCommand
from benchmark.cli.export import ExportCommand
from benchmark.cli.import_npz import ImportNpzCommand
from benchmark.cli.ls import LsCommand
from benchmark.cli.power import PowerCommand
from benchmark.cli.prepare import PrepareCommand
from benchmark.cli.readme import ReadmeCommand
from benchmark.cli.report import ReportCommand
from benchmark.cli.run import RunCommand
from benchmark.cli.sweep import SweepCommand
from benchmark.core import exit_codes
from benchmark.core.errors import UserError

COMMANDS: tuple[Command, ...] = (RunCommand(), LsCommand(), PrepareCommand(), SweepCommand(),
                                 ReportCommand(), CheckCommand(), CompareCommand(),
                                 PowerCommand(), ClaimsCommand(), ExportCommand(),
                                 ImportNpzCommand(), ReadmeCommand())


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


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
        return exit_codes.USER_ERROR
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; no record was written", file=sys.stderr)
        return exit_codes.INTERRUPTED
    except Exception:  # a bug: its traceback, and not the drift check's status 1
        traceback.print_exc()
        return exit_codes.RUN_FAILED

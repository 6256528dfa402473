"""``python -m benchmark readme``: re-render the README's measured tables from the records
committed under ``results/`` (benchmark/report/readme.py); ``--check`` only compares."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.cli.command import Command
from benchmark.core.errors import UserError


class ReadmeCommand(Command):
    name = "readme"
    help = "re-render the README's measured tables from the committed records (--check: compare)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--readme", type=Path, default=Path("README.md"),
                            help="the README to render (default: README.md; the records' "
                                 "folders are read relative to its folder)")
        parser.add_argument("--check", action="store_true",
                            help="change nothing; exit 1 when a block differs from its records")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.core.cache import atomic_path
        from benchmark.report.readme import block_names, rendered_readme

        if not args.readme.is_file():
            raise UserError(f"no README at {args.readme}: give its path with --readme")
        text = args.readme.read_text(encoding="utf-8")
        rendered = rendered_readme(text, args.readme.resolve().parent)
        names = ", ".join(block_names(text)) or "none"
        if args.check:
            if rendered != text:
                print(f"{args.readme} differs from its records (blocks: {names}): run "
                      "`make readme` and commit the result", file=sys.stderr)
                return 1
            print(f"{args.readme} matches its records (blocks: {names})")
            return 0
        if rendered != text:
            with atomic_path(args.readme) as tmp:
                tmp.write_text(rendered, encoding="utf-8")
        print(f"{'rewrote' if rendered != text else 'unchanged:'} {args.readme} (blocks: {names})")
        return 0

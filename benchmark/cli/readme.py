"""``python -m benchmark readme``: re-render the measured tables of README.md and every
docs/*.md from the records committed under ``results/`` (benchmark/report/readme.py); ``--check``
only compares."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.cli.command import Command
from benchmark.core.errors import UserError


class ReadmeCommand(Command):
    name = "readme"
    help = ("re-render the measured tables of README.md and docs/*.md from the committed "
            "records (--check: compare)")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--root", type=Path, default=Path("."),
                            help="the repository root (default: the current directory): "
                                 "the records' folders are read relative to it, and it "
                                 "holds the default documents, README.md and docs/*.md")
        parser.add_argument("--file", "--readme", dest="files", type=Path, action="append",
                            metavar="PATH",
                            help="render only this document (repeatable; default: README.md "
                                 "and every docs/*.md under --root)")
        parser.add_argument("--check", action="store_true",
                            help="change nothing; exit 1 when a block differs from its records")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.core.cache import atomic_path
        from benchmark.report.readme import block_names, documents, lost_blocks, rendered_readme

        root = args.root
        files = args.files or documents(root)
        if not files:
            raise UserError(f"no README.md or docs/*.md under {root}: run from the repository "
                            "root, or give it with --root")
        for path in files:
            if not path.is_file():
                raise UserError(f"no document at {path}: give its path with --file")
        rendered: dict[str, str] = {}  # each block rendered once, whichever files hold it
        differing, texts = [], []
        for path in files:
            text = path.read_text(encoding="utf-8")
            new = rendered_readme(text, root, rendered)
            names = block_names(text)
            texts.append(text)
            listed = ", ".join(names) or "none"
            if args.check:
                if new != text:
                    differing.append(path)
                    print(f"{path} differs from its records (blocks: {listed})",
                          file=sys.stderr)
                elif names:
                    print(f"{path} matches its records (blocks: {listed})")
                continue
            if new != text:
                with atomic_path(path) as tmp:
                    tmp.write_text(new, encoding="utf-8")
            if names:
                print(f"{'rewrote' if new != text else 'unchanged:'} {path} (blocks: {listed})")
        # Rendering every document: a block no document holds is a table that was lost.
        lost = [] if args.files else lost_blocks(texts)
        if lost:
            print(f"no document holds the block(s) {', '.join(lost)}: put each between its "
                  "readme-block markers in README.md or a docs/*.md page", file=sys.stderr)
        if differing:
            print("run `make readme` and commit the result", file=sys.stderr)
        return 1 if differing or lost else 0

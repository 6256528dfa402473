"""``python -m benchmark report``: tables, plots and a page from a folder of run records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.cli.claims import DEFAULT_CLAIMS
from benchmark.cli.command import Command
from benchmark.core.config import DEFAULT_RESULTS


class ReportCommand(Command):
    name = "report"
    help = "tables (Markdown, LaTeX, CSV), plots and an HTML page from run records"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                            help="folder of RunRecords to report on (default: results/runs)")
        parser.add_argument("--name", default=None,
                            help="report name (default: the results folder's name)")
        parser.add_argument("--out", type=Path, default=Path("reports"),
                            help="where reports/<name>/ is written (default: reports)")
        parser.add_argument("--claims", type=Path, default=DEFAULT_CLAIMS,
                            help="claim file or folder for the Claims section (default: the "
                                 "repository's claims/; a missing path leaves it out)")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.core.progress import stage

        stage(f"report of {args.results}: loading the report code (pandas, matplotlib)")
        from benchmark.report import write_report

        name = args.name or args.results.resolve().name
        claims = args.claims if args.claims.exists() else None
        report = write_report(args.results, args.out / name, claims)
        for problem in report.problems:
            print(f"not in the report: {problem}", file=sys.stderr)
        print(f"wrote {len(report.files)} files to {report.folder}: "
              f"{report.folder / 'index.html'}, table.md, table.tex, results.csv")
        return 0

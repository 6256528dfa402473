"""``python -m benchmark power``: the minimum detectable difference of the present design
per task and metric, and the items or seeds a given difference would need
(benchmark/verdicts/power.py)."""

from __future__ import annotations

import argparse

from benchmark.cli.command import Command
from benchmark.cli.compare import add_verdict_inputs, verdict_columns


class PowerCommand(Command):
    name = "power"
    help = "minimum detectable differences (80% power, 5% level) and the items/seeds needed"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_verdict_inputs(parser)
        parser.add_argument("--difference", type=float, default=None,
                            help="the difference to plan for, in the metric's units "
                                 "(default: half of each metric's present MDD)")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.verdicts.power import POWER_HEADER, column_design, power_rows
        from benchmark.verdicts.tables import markdown_rows

        designs = [d for d in map(column_design, verdict_columns(args)) if d is not None]
        print(markdown_rows(POWER_HEADER, power_rows(designs, args.difference)))
        print("\nMDD: the smallest true difference a paired test at 5% detects with 80% "
              "power, from the records' item and seed variance components (median over "
              "method pairs).")
        return 0

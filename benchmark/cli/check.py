"""``python -m benchmark check``: re-run a baseline's sweep and fail when a metric drifted;
``--update`` re-makes the baseline on purpose."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmark.cli.arguments import SETTINGS, add_run_grid, add_run_settings, positive_int
from benchmark.cli.command import Command
from benchmark.core.errors import UserError


class CheckCommand(Command):
    name = "check"
    help = "re-run a baseline's sweep and exit 1 if a metric drifted beyond its tolerance"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--baseline", type=Path, required=True,
                            help="results/baselines/<name>.json")
        parser.add_argument("--update", action="store_true",
                            help="re-make the baseline on purpose (the grid and settings given "
                                 "below, the rest as in the existing baseline)")
        parser.add_argument("--results", type=Path, default=None,
                            help="read (and complete) the runs in this folder instead of "
                                 "re-running into a fresh temporary one")
        add_run_grid(parser, single=False, defaults=False)
        add_run_settings(parser, defaults=False)
        parser.add_argument("--jobs", type=positive_int, default=1, help="runs at a time")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def _sweep_settings(self, args: argparse.Namespace) -> dict[str, Any]:
        """The sweep to re-make: flags given now, else the existing baseline's, else the
        defaults (a new baseline must name its grid)."""
        from benchmark.check import GRID_KEYS, SWEEP_DEFAULTS, load_baseline
        from benchmark.sweep.planning import threads_per_run

        old = (load_baseline(args.baseline, entries=False)["sweep"] if args.baseline.exists()
               else {})
        sweep: dict[str, Any] = {}
        for key in GRID_KEYS:
            value = getattr(args, key)
            if value is None and key not in old:
                raise UserError(f"--update of a new baseline needs --{key}")
            sweep[key] = old[key] if value is None else value
        for key in SETTINGS:
            value = getattr(args, key)
            sweep[key] = old.get(key, SWEEP_DEFAULTS[key]) if value is None else value
        if sweep["weights"] is not None:
            sweep["weights"] = str(sweep["weights"])
        sweep["threads"] = old.get("threads") or threads_per_run(args.jobs)
        return sweep

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.check import (
            GRID_KEYS,
            compare,
            comparison_record,
            diff_table,
            load_baseline,
            make_baseline,
            rule_summary,
            sweep_records,
            write_baseline,
            write_comparison,
        )

        progress = not args.no_progress
        if args.update:
            sweep = self._sweep_settings(args)
            _, records = sweep_records(sweep, args.results, args.jobs, progress)
            baseline = make_baseline(args.baseline.stem, sweep, records)
            write_baseline(args.baseline, baseline)
            print(f"wrote {args.baseline}: {len(baseline['metrics'])} metrics from "
                  f"{len(records)} runs")
            return 0
        given = [f"--{key}" for key in (*GRID_KEYS, *SETTINGS)
                 if getattr(args, key) is not None]
        if given:
            raise UserError(f"{', '.join(given)} only apply with --update (a check re-runs the "
                            f"baseline's own sweep)")
        baseline = load_baseline(args.baseline)
        folder, records = sweep_records(baseline["sweep"], args.results, args.jobs, progress)
        comparisons = compare(baseline, records)
        drifted = [c for c in comparisons if c.drifted]
        print(diff_table(comparisons))
        print(f"{len(drifted)} of {len(comparisons)} metrics drifted beyond what is allowed "
              f"(tolerance {baseline['tolerance_rule']}; on another CPU also the runs' 95% "
              f"interval)")
        print(rule_summary(baseline, records, comparisons))
        written = write_comparison(folder, args.baseline,
                                   comparison_record(args.baseline, baseline, records,
                                                     comparisons))
        print(f"comparison written to {written}")
        return 1 if drifted else 0

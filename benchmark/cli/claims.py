"""``python -m benchmark claims``: the verdicts on the claims in claims/*.toml (or a file
of the user's) for the records of a results folder (benchmark/verdicts/claims.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli.command import Command
from benchmark.core.config import DEFAULT_RESULTS

DEFAULT_CLAIMS = Path(__file__).resolve().parents[2] / "claims"


class ClaimsCommand(Command):
    name = "claims"
    help = "verdicts (holds / does not hold / inconclusive) on the papers' claims"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                            help="folder of RunRecords (default: results/runs)")
        parser.add_argument("--claims", type=Path, default=DEFAULT_CLAIMS,
                            help="a claim file (.toml) or a folder of them "
                                 "(default: the repository's claims/)")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.report.collection import load_collection
        from benchmark.verdicts.claims import evaluate, read_claims, verdict_text

        claims = read_claims(args.claims)
        records = load_collection(args.results).records
        verdicts = [evaluate(claim, args.results, records) for claim in claims]
        print("\n\n".join(verdict_text(v) for v in verdicts))
        return 0

"""``python -m benchmark import-npz``: turn the per-item ``.npz`` feature folders that
FlowBind's extraction scripts write into a precomputed-embeddings folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli.command import Command
from benchmark.core.errors import UserError


class ImportNpzCommand(Command):
    name = "import-npz"
    help = ("import a FlowBind-style folder of per-item .npz features (keys text, image, "
            "audio) as a precomputed-embeddings folder")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("source", type=Path, help="folder of <index>.npz files")
        parser.add_argument("--to", type=Path, required=True, metavar="DIR",
                            help="a new (or empty) folder to write")
        parser.add_argument("--test", type=Path, default=None, metavar="DIR",
                            help="a second .npz folder holding the test items (default: "
                                 "hold out --test-fraction of the full triplets)")
        parser.add_argument("--test-fraction", type=float, default=0.1,
                            help="share of the items with all three modalities held out as "
                                 "test items when --test is not given (default: 0.1)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the held-out draw")
        parser.add_argument("--no-progress", action="store_true", help="hide progress bars")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.data.embeddings.flowbind_npz import import_flowbind_npz

        if not 0.0 < args.test_fraction < 1.0:
            raise UserError(f"--test-fraction must lie in (0, 1), got {args.test_fraction}")
        counts = import_flowbind_npz(args.source, args.to, test_source=args.test,
                                     test_fraction=args.test_fraction, seed=args.seed,
                                     progress=not args.no_progress)
        shown = ", ".join(f"{split} {n}" for split, n in counts.items())
        print(f"imported {shown} items into {args.to} (use it with --dataset {args.to})")
        return 0

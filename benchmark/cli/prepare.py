"""``python -m benchmark prepare``: build the caches a run needs, print the embedded
evaluators' ceilings, write a preview; or check the pretrained evaluators' files."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli.command import Command
from benchmark.core.errors import UserError


class PrepareCommand(Command):
    name = "prepare"
    help = ("build the dataset, backbones, judges and embeddings caches; print the judges' "
            "ceilings; write a preview")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--profile", default="default", help="default or smoke")
        parser.add_argument("--dataset", default=None,
                            help="a dataset from `ls datasets`, a dataset folder "
                                 "(docs/your-own-data.md), or path/to/file.py:Class "
                                 "(default: the profile's, scenes)")
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
            from metrics.evaluators.weights import WeightsConfig, check_weights, weights_report

            config = WeightsConfig.load(args.weights)
            print(weights_report(config, check_weights(config)))
            return 0
        if args.weights is not None:
            raise UserError("--weights is only read with --check-weights here "
                            "(prepare builds no pretrained-evaluator caches); add --check-weights")
        from benchmark.results.summary import ceilings_table
        from benchmark.run.preparation import prepare

        previews, ceilings = prepare(args.profile, args.preview, args.dataset)
        print("embedded evaluators on the real test split (what a perfect generator scores):")
        print(ceilings_table(ceilings))
        for path in previews:
            print(path)
        return 0

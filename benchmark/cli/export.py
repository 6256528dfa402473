"""``python -m benchmark export``: write a dataset out in the folder formats users bring
their own data in, as a working example to copy (``--dataset scenes`` by default)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli.command import Command
from benchmark.core.errors import UserError

FORMATS = ("media", "embeddings")


class ExportCommand(Command):
    name = "export"
    help = ("write a dataset as a paired-media folder (or, with --format embeddings, its "
            "embeddings as a precomputed-embeddings folder)")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dataset", default="scenes",
                            help="a dataset from `ls datasets`, a dataset folder, or "
                                 "path/to/file.py:Class (default: scenes)")
        parser.add_argument("--profile", default="default",
                            help="whose dataset settings to export (default or smoke)")
        parser.add_argument("--to", type=Path, required=True, metavar="DIR",
                            help="a new (or empty) folder to write")
        parser.add_argument("--format", default="media",
                            help="media: images, audio and captions with manifest.jsonl "
                                 "(default); embeddings: the embeddings methods train on "
                                 "(the backbones' for a media dataset), as .npy arrays")
        parser.add_argument("--no-progress", action="store_true", help="hide progress bars")

    def __call__(self, args: argparse.Namespace) -> int:
        from benchmark.core.registry import did_you_mean
        from benchmark.profiles import PROFILES

        if args.format not in FORMATS:
            raise UserError(f"unknown --format '{args.format}': "
                            f"{did_you_mean(args.format, list(FORMATS))}")
        _refuse_nonempty(args.to)
        profile = PROFILES.get(args.profile).with_dataset(args.dataset)
        progress = not args.no_progress
        if args.format == "media":
            from benchmark.data import build_dataset
            from benchmark.data.export import export_media_folder

            dataset = build_dataset(profile.dataset, profile.dataset_settings)
            if dataset.kind != "media":
                raise UserError(f"{args.dataset} holds precomputed embeddings, not media: "
                                "use --format embeddings")
            count = export_media_folder(dataset.load(progress=progress), args.to, progress)
        else:
            from benchmark.data.embeddings import write_embeddings_folder
            from benchmark.run.preparation import prepare_inputs

            inputs = prepare_inputs(profile, progress=progress, tasks=())  # no judges
            splits = {name: _as_features(inputs, name) for name in inputs.splits}
            write_embeddings_folder(args.to, splits)
            count = sum(len(split) for split in splits.values())
        print(f"wrote {count} items to {args.to} (use it with --dataset {args.to})")
        return 0


def _refuse_nonempty(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UserError(f"--to {folder} exists and is not an empty folder: export never "
                        "overwrites; give a new folder")


def _as_features(inputs, split: str):
    """The split's embeddings as methods see them (standardized), as a FeatureSplit."""
    from benchmark.core.feature_split import FeatureSplit

    embedded, source = inputs.embeddings[split], inputs.splits[split]
    return FeatureSplit(
        embeddings={m: z.numpy() for m, z in embedded.embeddings.items()},
        present=source.present,
        attributes=source.attributes,
        attribute_names=source.attribute_names,
        attribute_sizes=source.attribute_sizes,
    )

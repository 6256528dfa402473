"""``python -m benchmark ls``: what can be run, and where each entry comes from."""

from __future__ import annotations

import argparse
from typing import ClassVar

from benchmark.cli.command import Command
from benchmark.core.errors import UserError
from benchmark.core.registry import Registry, did_you_mean


def _registry(subject: str) -> Registry:
    if subject == "methods":
        from methods import METHODS

        return METHODS
    if subject == "datasets":
        from benchmark.data import DATASETS

        return DATASETS
    if subject == "metrics":
        from metrics import METRICS

        return METRICS
    from benchmark.profiles import PROFILES

    return PROFILES


class LsCommand(Command):
    name = "ls"
    help = "list methods, tasks, datasets, metrics or profiles (and where each comes from)"
    subjects: ClassVar[tuple[str, ...]] = ("methods", "tasks", "datasets", "metrics", "profiles")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("subject", help="one of: " + ", ".join(self.subjects))

    def __call__(self, args: argparse.Namespace) -> int:
        if args.subject not in self.subjects:
            raise UserError(
                f"cannot list '{args.subject}': {did_you_mean(args.subject, list(self.subjects))}"
            )
        if args.subject == "tasks":
            from benchmark.core.tasks import every_task

            for task in every_task():
                print(f"{task.name:<18} {task.kind}")
            return 0
        entries = list(_registry(args.subject))
        if args.subject == "metrics":
            from metrics.source_gain import GAIN_ENTRY

            entries.append(GAIN_ENTRY)
        name_width = max(len(entry.name) for entry in entries)
        origin_width = max(len(entry.origin) for entry in entries)
        for entry in entries:
            print(f"{entry.name:<{name_width}}  {entry.origin:<{origin_width}}  "
                  f"{entry.description}")
        return 0

"""The base of every subcommand: it declares its arguments and runs on the parsed namespace."""

from __future__ import annotations

import argparse
from typing import ClassVar

from benchmark.core.hooks import Hooked, abstractmethod


class Command(Hooked):
    """One ``python -m benchmark <name>`` subcommand.

    Subclasses set ``name`` and ``help``, add their flags in :meth:`add_arguments` (from
    the shared groups in benchmark/cli/arguments.py where they share them) and return the
    exit status from the hook :meth:`__call__`. They import heavy modules inside ``__call__``, so
    ``--help`` and ``ls`` answer at once.
    """

    hooks_doc = "benchmark/cli/command.py"
    name: ClassVar[str]
    help: ClassVar[str]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    @abstractmethod
    def __call__(self, args: argparse.Namespace) -> int:
        """Run the subcommand on the parsed ``args``; the process's exit status."""

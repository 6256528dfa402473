"""The base of every subcommand: it declares its arguments and runs on the parsed namespace."""

from __future__ import annotations

import argparse
from typing import ClassVar


class Command:
    """One ``python -m benchmark <name>`` subcommand.

    Subclasses set ``name`` and ``help``, add their flags in :meth:`add_arguments` (from
    the shared groups in benchmark/cli/arguments.py where they share them) and return the
    exit status from :meth:`__call__`. They import heavy modules inside ``__call__``, so
    ``--help`` and ``ls`` answer at once.
    """

    name: ClassVar[str]
    help: ClassVar[str]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def __call__(self, args: argparse.Namespace) -> int:
        raise NotImplementedError

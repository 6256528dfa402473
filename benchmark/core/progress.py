"""The stage lines a run prints on stderr as each stage of its pipeline starts."""

from __future__ import annotations

import sys

from benchmark.core.ranks import is_secondary_rank


def stage(message: str) -> None:
    """One line on stderr saying which stage of the pipeline starts (not from a secondary
    rank of a multi-process training: rank 0 says it)."""
    if is_secondary_rank():
        return
    print(f"[anybench] {message}", file=sys.stderr, flush=True)

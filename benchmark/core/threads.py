"""How many CPU threads torch computes with, which decides the last bits of every result.

Floating-point sums come out in a different order with a different number of intra-op
threads, so the same training on 1 and on 2 threads ends in different weights. Two rules
make numbers reproducible:

- every cached artifact (dataset, backbones, judges, embeddings, reference rows) is built
  with :data:`CACHE_BUILD_THREADS` threads, whoever builds it (a ``run`` on a many-core
  machine, one of a sweep's single-threaded runs, the test suite), so a cold build gives
  the same bytes on any machine of one CPU family;
- a run computes with the thread count it records (``provenance.hardware.torch_threads``);
  ``check`` re-runs a baseline with the thread count the baseline was made with.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

CACHE_BUILD_THREADS = 2
"""Threads every cache build computes with (2: this project's reference CPU has two cores;
a machine with fewer cores still gets the same numbers, only more slowly)."""


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Compute with ``count`` intra-op threads inside the block, then restore the count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)

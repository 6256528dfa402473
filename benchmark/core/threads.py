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

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask: a container's or ``taskset``'s
    share, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> list[float]:
    """The machine's 1-, 5- and 15-minute load averages (runnable processes)."""
    return [round(load, 2) for load in os.getloadavg()]


def busy_cpus(window_s: float = 0.25) -> float:
    """How many of this process's usable CPUs other work keeps busy: the machine's busy
    fraction over ``window_s`` seconds (``/proc/stat``: time not idle or waiting on I/O,
    over all time) times :func:`usable_cpus`. 0 where ``/proc/stat`` does not exist."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields) - idle, sum(fields)

    try:
        busy_before, total_before = sample()
        time.sleep(window_s)
        busy_after, total_after = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    total = total_after - total_before
    return usable_cpus() * (busy_after - busy_before) / total if total > 0 else 0.0


def run_threads() -> tuple[int, str]:
    """Torch threads for a ``run`` and why: ``OMP_NUM_THREADS`` when set (a sweep sets it
    for its runs; ``check`` the baseline's count); otherwise the usable CPUs that are not
    busy when the run starts, at least one.

    Why not always every CPU: torch's OpenMP threads meet at a barrier after every parallel
    operation, and a thread that has to share its CPU with another process makes all of
    them wait there, so a 2-thread run beside one other busy process on 2 CPUs ran at 13%
    of its quiet speed, and at 97% with one thread (``benchmarks/shared_machine.py``).
    The thread count changes the last bits of results and every record keeps it
    (``provenance.hardware.torch_threads``): set ``OMP_NUM_THREADS`` to reproduce a record.
    """
    given = os.environ.get("OMP_NUM_THREADS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given), "OMP_NUM_THREADS"
    usable, busy = usable_cpus(), busy_cpus()
    threads = max(1, usable - round(busy))
    return threads, f"{usable} usable CPUs, {busy:.1f} busy at start"

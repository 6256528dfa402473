"""How many CPU threads torch computes with, which decides the last bits of every result.

Floating-point sums come out in a different order with a different number of intra-op
threads, so the same training on 1 and on 2 threads ends in different weights. Two rules
make numbers reproducible:

- every cached artifact (dataset, backbones, judges, embeddings, reference rows) is built
  with :data:`CACHE_BUILD_THREADS` threads, whoever builds it (a ``run`` on a many-core
  machine, one of a sweep's single-threaded runs, the test suite), so a cold build gives
  the same bytes on any machine of one CPU family;
- a run computes with the thread count it records (``provenance.hardware.torch_threads``),
  which by default depends only on the machine (:func:`run_threads`), never on its load;
  ``check`` re-runs a baseline with the thread count the baseline was made with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmark.core.config import RunConfig

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


AUTO = "auto"
"""The ``--threads`` value that picks the count from the load at the start (opt-in)."""

_chosen: str | None = None


def run_threads(request: int | str | None = None) -> tuple[int, str]:
    """Torch threads for a ``run`` and why, by the first rule that applies:

    1. ``request`` (``run --threads N``) a positive integer: N;
    2. ``request`` :data:`AUTO` (``run --threads auto``): the usable CPUs that are not busy
       when the run starts, at least one;
    3. ``OMP_NUM_THREADS`` when set (a sweep sets it for its runs, ``check`` to the
       baseline's count, ``make demo`` to 2);
    4. otherwise every usable CPU.

    The default depends only on the machine (its usable CPUs), never on what else runs:
    the thread count changes the last bits of every result, and the same command on the
    same machine must give the same numbers. Rule 2 trades that for speed on a busy
    machine: torch's OpenMP threads meet at a barrier after every parallel operation, so
    a thread that shares its CPU with another process holds up the others
    (``benchmarks/shared_machine.py`` measures both). Every record keeps the count and the
    rule (``provenance.hardware.torch_threads`` and ``torch_threads_from``).
    """
    global _chosen
    given = os.environ.get("OMP_NUM_THREADS", "").strip()
    if isinstance(request, int):
        count, why = request, "--threads"
    elif request == AUTO:
        usable, busy = usable_cpus(), busy_cpus()
        count = max(1, usable - round(busy))
        why = f"--threads auto: {usable} usable CPUs, {busy:.1f} busy at start"
    elif given.isdigit() and int(given) > 0:
        count, why = int(given), "OMP_NUM_THREADS"
    else:
        count = usable_cpus()
        why = f"{count} usable CPUs"
    _chosen = why
    return count, why


def threads_per_process(threads: int, config: RunConfig) -> int:
    """Torch threads for each of the run's processes on this node: a CPU run's
    ``devices`` processes share the ``threads`` one process would have had. A secondary
    rank was started with its share already set in ``OMP_NUM_THREADS``."""
    from benchmark.core.ranks import is_secondary_rank

    if config.accelerator == "gpu" or config.devices == 1 or is_secondary_rank():
        return threads
    return max(1, threads // config.devices)


BUSY_FOR_PASSIVE = 0.5
"""Busy CPUs (other processes' work) at the start from which OpenMP threads sleep at their
barriers instead of spinning (:func:`choose_wait_policy`)."""


def choose_wait_policy(window_s: float = 0.1) -> str | None:
    """Before torch loads (OpenMP reads it once): set ``OMP_WAIT_POLICY=PASSIVE`` when
    other processes keep at least :data:`BUSY_FOR_PASSIVE` CPUs busy at the start, and
    leave libgomp's default (spin, then sleep) otherwise; a policy already set is kept.
    Returns the policy set (None: none).

    The policy decides only how a thread waits for the others at the barrier after each
    parallel operation, never how the work is split or summed, so it moves no number
    (tests/core/test_run_threads.py trains under both and compares the weights); the
    thread count, which does, stays the machine's (:func:`run_threads`). Measured with
    ``benchmarks/shared_machine.py`` (FlowBind, 2 threads on 2 CPUs, samples/s): spinning
    threads beside one busy process kept 5-14% of their quiet speed (a waiting thread
    spins on the CPU its late partner needs), sleeping ones 2850-3030 samples/s, 70-75%
    of the spinning quiet speed (4045); but quiet, sleeping threads ran at 57% of it
    (each wake-up costs), hence the choice at the start."""
    if "OMP_WAIT_POLICY" in os.environ:
        return None
    if busy_cpus(window_s) < BUSY_FOR_PASSIVE:
        return None
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "PASSIVE"


def chosen_rule() -> str | None:
    """Why this process computes with its thread count (the last :func:`run_threads`
    answer's reason; None when it never asked), for the record's provenance."""
    return _chosen

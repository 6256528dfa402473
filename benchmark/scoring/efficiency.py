"""Cost of sampling, measured while it runs: function evaluations per item and memory.

NFE per item = (rows processed by the method's velocity networks during ``generate``) /
(items generated). Counting rows rather than calls makes a classifier-free-guidance pass
that concatenates conditional and unconditional rows count twice, as it costs twice.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch
from torch import Tensor, nn

T = TypeVar("T")


def _rows(value: object) -> int:
    """Leading size of the first tensor in a forward call's arguments (dicts searched)."""
    if isinstance(value, Tensor):
        return value.shape[0]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, tuple | list):
        for item in value:
            if rows := _rows(item):
                return rows
    return 0


@contextmanager
def counting_rows(modules: list[nn.Module]) -> Iterator[list[int]]:
    """Yield a one-element list that accumulates the rows passed to ``modules``' forward."""
    total = [0]

    def hook(module: nn.Module, args: tuple) -> None:
        total[0] += _rows(args)

    handles = [module.register_forward_pre_hook(hook) for module in modules]
    try:
        yield total
    finally:
        for handle in handles:
            handle.remove()


def function_evaluations_per_item(method, items: int, generate: Callable[[], T]) -> tuple[T, float]:
    """Run ``generate()`` and return (its result, NFE per generated item)."""
    with counting_rows(method.velocity_networks()) as rows:
        result = generate()
    return result, rows[0] / items


def peak_memory_mb() -> dict[str, float | None]:
    """Peak resident memory of this process so far and, on CUDA, peak allocated tensors."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes vs KiB
    gpu = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    return {"peak_rss_mb": round(rss_mb, 1), "peak_gpu_mb": gpu and round(gpu, 1)}

"""FLOP utilization: each tiny preset's achieved training FLOP/s against this CPU's peak.

Achieved: the budget's counted FLOPs (``training_flops_per_step`` times steps, forward and
backward, as every record counts them) divided by the seconds the harness's budget clock
measured for those steps, i.e. a record's ``timing.train_flops_per_s``.

Two peaks are measured in the same process, with the same thread count:

- *own shapes*: every matrix product one training step of the method really runs (recorded
  by a dispatch mode during one forward and backward: ``mm``, ``addmm``, ``bmm`` with their
  operand shapes), each timed alone on random operands; the peak is their total FLOPs over
  their total time, the rate the step would reach if it did nothing but its own matrix
  products, back to back;
- *square*: one large square product (``n x n`` by ``n x n``, 2 n^3 FLOPs).

Why a step stays below its own-shape peak: torch's profiler over a few bare training steps
(forward, backward, fused Adam) gives the share of the step's operator self time spent in
matrix products. A step that did its products at the own-shape peak and everything else
instantly would reach 100%; with a share f of its time in the products it reaches at most
about f (the other operators do no counted FLOPs), which is the "ceiling" column.

    python benchmarks/flop_utilization.py [--methods flowbind] [--steps 300] [--square 2048]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from training_paths import METHOD_NAMES, build_method, harness_training

from benchmark.run.budget import training_flops_per_step
from benchmark.run.embeddings import training_loader
from benchmark.run.preparation import prepare_inputs

aten = torch.ops.aten
MATMULS = {aten.mm.default: "mm", aten.addmm.default: "addmm", aten.bmm.default: "bmm"}


class MatmulShapes(TorchDispatchMode):
    """Counts each matrix product's ``(batch, m, k, n)`` shape run inside the mode."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: Counter[tuple[int, int, int, int]] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in MATMULS:
            a, b = (args[1], args[2]) if func is aten.addmm.default else (args[0], args[1])
            batch = a.shape[0] if a.dim() == 3 else 1
            self.shapes[(batch, a.shape[-2], a.shape[-1], b.shape[-1])] += 1
        return func(*args, **(kwargs or {}))


def matmul_flops(shape: tuple[int, int, int, int]) -> int:
    batch, m, k, n = shape
    return 2 * batch * m * k * n


def time_matmul(shape: tuple[int, int, int, int], min_seconds: float = 0.2) -> float:
    """Seconds per product of ``shape`` on random float32 operands (best of three runs of
    enough repetitions to last ``min_seconds``)."""
    batch, m, k, n = shape
    a, b = torch.randn(batch, m, k), torch.randn(batch, k, n)
    product = torch.bmm if batch > 1 else (lambda x, y: torch.mm(x[0], y[0]))
    product(a, b)
    repetitions, elapsed = 1, 0.0
    while elapsed < min_seconds:
        repetitions *= 2
        started = time.perf_counter()
        for _ in range(repetitions):
            product(a, b)
        elapsed = time.perf_counter() - started
    best = elapsed
    for _ in range(2):
        started = time.perf_counter()
        for _ in range(repetitions):
            product(a, b)
        best = min(best, time.perf_counter() - started)
    return best / repetitions


def own_shapes_peak(shapes: Counter) -> float:
    """FLOP/s of the step's matrix products run back to back, each shape timed alone."""
    flops = sum(matmul_flops(shape) * count for shape, count in shapes.items())
    seconds = sum(time_matmul(shape) * count for shape, count in shapes.items())
    return flops / seconds


def step_matmuls(method, batch) -> Counter:
    """The matrix products of one forward and backward of ``method.loss(batch)``."""
    with torch.random.fork_rng(), MatmulShapes() as recorder:
        method.loss(batch).backward()
    method.zero_grad(set_to_none=True)
    return recorder.shapes


PRODUCT_OPS = {"aten::mm", "aten::addmm", "aten::bmm"}


def matmul_time_share(method, batch, steps: int = 10) -> float:
    """The share of operator self time in matrix products over ``steps`` bare training
    steps (forward, backward, optimizer step) on one batch, after two warm-up steps."""
    from torch.profiler import ProfilerActivity, profile

    optimizer = method.configure_optimizers()["optimizer"]

    def step() -> None:
        method.loss(batch).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    with torch.random.fork_rng():
        for _ in range(2):
            step()
        with profile(activities=[ProfilerActivity.CPU]) as profiler:
            for _ in range(steps):
                step()
    events = profiler.key_averages()
    total = sum(event.self_cpu_time_total for event in events)
    products = sum(event.self_cpu_time_total for event in events if event.key in PRODUCT_OPS)
    return products / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=",".join(METHOD_NAMES))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--square", type=int, default=2048)
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    from benchmark.profiles import PROFILES

    inputs = prepare_inputs(PROFILES.get(args.profile), progress=False)
    train = inputs.embeddings["train"]
    square = (1, args.square, args.square, args.square)
    square_peak = matmul_flops(square) / time_matmul(square)
    print(f"torch threads {torch.get_num_threads()}; square {args.square}^3 product: "
          f"{square_peak / 1e9:.1f} GFLOP/s\n")
    print("| method | FLOPs/step | matmul FLOPs/step | achieved GFLOP/s | own-shape peak GFLOP/s "
          "| of own-shape peak | of square peak | step time in matrix products (ceiling) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.methods.split(","):
        method = build_method(name, inputs.dims, seed=0)
        batch_size = min(method.config.batch_size, len(train))
        batch = next(b for b in training_loader(train, batch_size, 0) if method.has_signal(b))
        shapes = step_matmuls(method, batch)
        counted = training_flops_per_step(method, batch)
        meter = harness_training(name, args.steps, inputs, seed=0)[2].meter
        achieved = meter.flops / meter.seconds
        peak = own_shapes_peak(shapes)
        matmul = sum(matmul_flops(shape) * count for shape, count in shapes.items())
        share = matmul_time_share(method, batch)  # last use of method: it steps it
        print(f"| {name} | {counted / 1e6:.1f}M | {matmul / 1e6:.1f}M | {achieved / 1e9:.2f} "
              f"| {peak / 1e9:.2f} | {achieved / peak:.1%} | {achieved / square_peak:.1%} "
              f"| {share:.1%} |", flush=True)


if __name__ == "__main__":
    main()

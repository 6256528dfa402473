"""Paper presets on one device: a training step's time, achieved TFLOP/s, model FLOP
utilization against the device's measured bf16 matrix-multiply peak, and the largest
batch that fits.

For each method's ``paper`` preset on random 768-d embeddings (every row holding all three
modalities: the most work a batch of that size can ask), on ``--device``:

- FLOPs per step: counted by torch's ``FlopCounterMode`` on one real forward and backward
  at the measured batch, as every record counts them (the optimizer update not included);
- step time: the median of ``--steps`` optimizer steps (fused Adam, bf16 autocast under
  ``--precision bf16-mixed``, as ``run --precision bf16-mixed`` trains) after ``--warmup``
  steps, the device synchronized around each;
- peak: a square ``--square`` bf16 product (fp32 under ``--precision 32-true``) timed in
  the same process; MFU = achieved FLOP/s / peak. No datasheet number is used;
- largest batch (CUDA only): the batch doubled from ``--batch`` until a step runs out of
  device memory.

Pairwise methods (crossflow, cfm) are measured on one pair, text2image: serving every task
needs six such models.

    python benchmarks/paper_preset_step.py [--methods flowbind,crossflow] [--batch 256]
        [--device cuda] [--precision bf16-mixed] [--steps 10] [--max-batch 65536]
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark.core.tasks import parse_task
from methods import METHODS

PAIRWISE = ("crossflow", "cfm")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, precision: str):
    if precision == "bf16-mixed":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def random_batch(dims: dict[str, int], rows: int, device: torch.device) -> dict:
    batch: dict = {m: torch.randn(rows, d, device=device) for m, d in dims.items()}
    batch["present"] = {m: torch.ones(rows, dtype=torch.bool, device=device) for m in dims}
    return batch


def build(name: str, device: torch.device):
    method_cls = METHODS.get(name)
    tasks = [parse_task("text2image")] if name in PAIRWISE else None
    with torch.device(device):
        method = method_cls(dict(method_cls.paper_embedding_dims), preset="paper", tasks=tasks)
    return method


def step_seconds(method, batch: dict, device: torch.device, precision: str, warmup: int,
                 steps: int) -> float:
    """Median seconds of one optimizer step (forward, backward, fused Adam update)."""
    optimizer = torch.optim.Adam(method.parameters(), lr=1e-5, fused=device.type == "cuda")
    times = []
    for index in range(warmup + steps):
        synchronize(device)
        started = time.perf_counter()
        with autocast(device, precision):
            loss = method.loss(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)
        if index >= warmup:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def step_flops(method, batch: dict, device: torch.device, precision: str) -> int:
    with FlopCounterMode(display=False) as counter, autocast(device, precision):
        loss = method.loss(batch)
    loss.backward()
    method.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def matmul_peak(device: torch.device, precision: str, size: int) -> float:
    """FLOP/s of a square ``size`` product (bf16 under bf16-mixed), best of five."""
    dtype = torch.bfloat16 if precision == "bf16-mixed" else torch.float32
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    a @ b
    best = float("inf")
    for _ in range(5):
        synchronize(device)
        started = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def largest_batch(method, dims: dict[str, int], device: torch.device, precision: str,
                  start: int, limit: int) -> int | None:
    """The largest power-of-two multiple of ``start`` (up to ``limit``) whose optimizer step
    fits in device memory; None on a CPU (host memory is not the constraint measured)."""
    if device.type != "cuda":
        return None
    fits, rows = None, start
    while rows <= limit:
        try:
            step_seconds(method, random_batch(dims, rows, device), device, precision, 0, 1)
            fits, rows = rows, rows * 2
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            method.zero_grad(set_to_none=True)
            torch.cuda.empty_cache()
    return fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=",".join(METHODS.names()))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="bf16-mixed", choices=("bf16-mixed", "32-true"))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--square", type=int, default=8192)
    parser.add_argument("--max-batch", type=int, default=65536)
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = matmul_peak(device, args.precision, args.square)
    print(f"device {name}, precision {args.precision}, batch {args.batch}; measured peak "
          f"{peak / 1e12:.3g} TFLOP/s ({args.square}^3 "
          f"{'bf16' if args.precision == 'bf16-mixed' else 'fp32'} product)\n")
    print("| method (paper preset) | trainable params | step s | TFLOP per step | TFLOP/s "
          "| MFU | largest batch |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for method_name in args.methods.split(","):
        method = build(method_name, device)
        dims = dict(method.dims)
        batch = random_batch(dims, args.batch, device)
        flops = step_flops(method, batch, device, args.precision)
        seconds = step_seconds(method, batch, device, args.precision, args.warmup, args.steps)
        fits = largest_batch(method, dims, device, args.precision, args.batch, args.max_batch)
        trainable = sum(p.numel() for p in method.parameters() if p.requires_grad)
        achieved = flops / seconds
        print(f"| {method_name} | {trainable:,} | {seconds:.3f} | {flops / 1e12:.3g} | "
              f"{achieved / 1e12:.3g} | {achieved / peak:.1%} | "
              f"{'n/a (cpu)' if fits is None else f'{fits:,}'} |", flush=True)
        del method, batch
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()

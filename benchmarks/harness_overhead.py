"""Harness overhead: training steps/s through anybench's ``run`` path against a bare loop.

For each method's tiny preset on the embedded default's training embeddings, the same
number of optimizer steps on the same batches in the same order is taken twice in this
process: by :func:`benchmark.run.training.train_method` (Lightning's Trainer, the budget meter,
the FLOP probe, the checkpoint copies, the training log) and by the hand-written loop of
``benchmarks/training_paths.py``. Both clocks cover everything from building the optimizer (and,
for the harness, the Trainer and the FLOP probe) to the last step. The ratio
harness/bare is what the harness costs; 1.0 is free. The two trainings are repeated
alternately. The steps/s columns use the median of each path's times. The ratio is the
median over repeats of each adjacent pair's ratio, with the range of those ratios. Pairs
taken back to back cancel the slow drift of a shared machine's speed, which moved
whole-run medians by more than 10% between two quiet runs. The same pair median is also
taken of process CPU seconds (every thread's): CPU time grows only while the process is
scheduled, so it moves less than wall-clock when another process takes the cores for a
while. The script also says whether the two ended in bit-identical weights (then they did
exactly the same arithmetic).

    python benchmarks/harness_overhead.py [--methods flowbind,crossflow] [--steps 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch
from training_paths import (
    METHOD_NAMES,
    build_method,
    harness_training,
    parameters_equal,
    train_bare,
)

from benchmark.run.preparation import prepare_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=",".join(METHOD_NAMES))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    from benchmark.profiles import PROFILES

    inputs = prepare_inputs(PROFILES.get(args.profile), progress=False)
    train, seed = inputs.embeddings["train"], 0
    print(f"{args.steps} steps per training, {args.repeats} repeats, torch threads "
          f"{torch.get_num_threads()}, profile {args.profile}\n")
    print("| method | bare steps/s | harness steps/s | harness / bare (pair median) "
          "| pair range | CPU-time ratio (pair median) | CPU pair range | in-loop steps/s "
          "| in-loop / bare | same weights |")
    print("|---|---:|---:|---:|---|---:|---|---:|---:|---|")
    for name in args.methods.split(","):
        bare_s, harness_s, loop_s, same = [], [], [], None
        bare_cpu, harness_cpu = [], []
        for _ in range(args.repeats):
            method = build_method(name, inputs.dims, seed)
            batch_size = min(method.config.batch_size, len(train))
            bare = train_bare(method, train, batch_size, seed, args.steps)
            wall, cpu, trained = harness_training(name, args.steps, inputs, seed)
            bare_s.append(bare.seconds)
            harness_s.append(wall)
            bare_cpu.append(bare.cpu_seconds)
            harness_cpu.append(cpu)
            loop_s.append(trained.meter.seconds)
            same = parameters_equal(bare.method, trained.method) if same is None else same
        bare_rate = args.steps / statistics.median(bare_s)
        harness_rate = args.steps / statistics.median(harness_s)
        loop_rate = args.steps / statistics.median(loop_s)
        pairs = [b / h for b, h in zip(bare_s, harness_s, strict=True)]
        loop_pairs = [b / h for b, h in zip(bare_s, loop_s, strict=True)]
        cpu_pairs = [b / h for b, h in zip(bare_cpu, harness_cpu, strict=True)]
        print(f"| {name} | {bare_rate:.1f} | {harness_rate:.1f} | {statistics.median(pairs):.3f} "
              f"| {min(pairs):.3f}–{max(pairs):.3f} | {statistics.median(cpu_pairs):.3f} "
              f"| {min(cpu_pairs):.3f}–{max(cpu_pairs):.3f} | {loop_rate:.1f} "
              f"| {statistics.median(loop_pairs):.3f} | {'yes' if same else 'no'} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

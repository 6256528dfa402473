"""Throughput on a shared machine: one training alone, then beside a second CPU-bound process.

Each measurement is a real ``python -m benchmark run`` (FlowBind, audio2image, the embedded
default, a samples budget) in a fresh process; its training throughput is the record's
``timing.samples_per_s`` (samples over the budget clock's seconds, training steps only).
"Beside" means a second process is already busy on the same CPUs when the measured run
starts, and stays busy until it ends:

- ``run``: another anybench training (a run with a budget it will not reach in time),
  which is what users do on a laptop (a sweep beside a demo);
- ``spin``: one single-threaded Python loop, the simplest CPU-bound neighbour.

With ``c`` usable CPUs and one neighbour, a fair share is about ``(c - 1) / c`` of the
cores for a spin loop and half of them for another run, so a run should keep roughly that
fraction of its quiet throughput; the script prints the fraction it keeps.

    python benchmarks/shared_machine.py [--samples 64000] [--neighbours run,spin]
        [--env OMP_WAIT_POLICY=PASSIVE]   # measure under other environment settings too
        [--threads auto]                  # and with other ``run --threads`` values

Both processes of a measurement run the same command (a ``--threads auto`` run beside
another ``--threads auto`` run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

SPIN = "while True: pass"


def run_command(samples: int, results: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "benchmark", "run", "--method", "flowbind", "--task",
            "audio2image", "--budget", f"samples={samples}", "--results", str(results),
            "--no-progress", *extra]


def measured_throughput(samples: int, env: dict[str, str], extra: list[str]
                        ) -> tuple[float, int]:
    """Training samples/s of one run, and the torch thread count it recorded."""
    with tempfile.TemporaryDirectory() as results:
        subprocess.run(run_command(samples, Path(results), extra), env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        record = json.loads(next(Path(results).glob("*.json")).read_text())
    return record["timing"]["samples_per_s"], record["provenance"]["hardware"]["torch_threads"]


@contextmanager
def neighbour(kind: str, env: dict[str, str], extra: list[str]):
    """A second CPU-bound process, busy for the whole block (started a few seconds early so
    that a neighbouring run is already training), then killed."""
    with tempfile.TemporaryDirectory() as results:
        if kind == "run":
            command, warmup = run_command(10**9, Path(results), extra), 15.0
        else:
            command, warmup = [sys.executable, "-c", SPIN], 1.0
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            time.sleep(warmup)
            yield
        finally:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=64_000)
    parser.add_argument("--neighbours", default="run,spin")
    parser.add_argument("--env", action="append", default=[],
                        help="NAME=VALUE set for both processes; repeat to measure each")
    parser.add_argument("--threads", action="append", default=[],
                        help="a `run --threads` value for both processes; repeat to measure "
                             "each")
    args = parser.parse_args()
    settings = ([("as shipped", {}, [])]
                + [(item, dict([item.split("=", 1)]), []) for item in args.env]
                + [(f"--threads {item}", {}, ["--threads", item]) for item in args.threads])
    usable = len(os.sched_getaffinity(0))
    print(f"{usable} usable CPUs; FlowBind audio2image, samples={args.samples}\n")
    print("| setting | neighbour | threads (quiet / beside) | quiet samples/s | beside samples/s "
          "| kept |")
    print("|---|---|---:|---:|---:|---:|")
    for label, variables, extra in settings:
        env = {**os.environ, **variables, "HF_HUB_OFFLINE": "1"}
        quiet, threads = measured_throughput(args.samples, env, extra)
        for kind in args.neighbours.split(","):
            with neighbour(kind, env, extra):
                beside, beside_threads = measured_throughput(args.samples, env, extra)
            print(f"| {label} | {kind} | {threads} / {beside_threads} | {quiet:.0f} "
                  f"| {beside:.0f} | {beside / quiet:.0%} |", flush=True)


if __name__ == "__main__":
    main()

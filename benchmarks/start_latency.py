"""Start-up latency: seconds from starting a command to its first line of output.

A user waits on this before anything says what is happening. Each command is started
``--repeats`` times in a fresh process (``python -m benchmark ...`` from ``--tree``, so
another checkout of anybench, such as a worktree of an older commit, can be measured with
the same interpreter); the clock runs from just before the process is started to the
first line it writes on stdout or stderr. A command still running after its first line
(``run``, ``check``) is then stopped: only its start is measured. ``ls methods`` answers
in one go, so its first line is its answer. The table gives the median and the range.

    python benchmarks/start_latency.py [--tree .] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "run": ["run", "--method", "flowbind", "--task", "audio2image", "--profile", "smoke",
            "--no-progress", "--results", "{tmp}/run"],
    "ls methods": ["ls", "methods"],
    "report": ["report", "--results", "results/example-suite", "--out", "{tmp}/reports"],
    "check": ["check", "--baseline", "results/baselines/demo.json", "--results", "{tmp}/check",
              "--no-progress"],
}


def first_line_seconds(arguments: list[str], tree: Path) -> tuple[float, str]:
    """Seconds to the first output line of ``python -m benchmark <arguments>`` run in
    ``tree``, and that line; the process is stopped once it has written it."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "benchmark",
                   *(part.replace("{tmp}", tmp) for part in arguments)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        line = ""
        while not line:
            events = selector.select(timeout=600)
            if not events:
                break
            line = events[0][0].fileobj.readline()
            if not line and process.poll() is not None:
                break
        seconds = time.perf_counter() - start
        process.kill()
        process.communicate()
    return seconds, line.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=Path("."))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--commands", default=",".join(COMMANDS))
    args = parser.parse_args()
    print(f"tree {args.tree.resolve()}, {args.repeats} repeats\n")
    print("| command | first line after (median s) | range s | first line |")
    print("|---|---:|---:|---|")
    for name in args.commands.split(","):
        timings, line = [], ""
        for _ in range(args.repeats):
            seconds, line = first_line_seconds(COMMANDS[name], args.tree)
            timings.append(seconds)
        print(f"| {name} | {statistics.median(timings):.2f} | {min(timings):.2f}–"
              f"{max(timings):.2f} | {line[:60]} |", flush=True)


if __name__ == "__main__":
    main()

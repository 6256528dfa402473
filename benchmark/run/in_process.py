"""Run the configs of one training in this process: what ``python -m benchmark run`` does
once its runs are claimed, and what a sweep's submitit job does (benchmark/sweep/cluster.py).

It picks the torch thread count (benchmark/core/threads.py; a multi-process CPU training
shares it, benchmark/run/distributed.py), trains and evaluates (benchmark/run/pipeline.py)
and prints each record. A run that crashes (anything but a UserError or an interrupt, a
NonFiniteOutput included) prints its traceback and gets a ``failed`` record per task; the
return value is an exit status (benchmark/core/exit_codes.py).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from benchmark.core import exit_codes
from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError

FAILED_RECORD_LINES = 20
"""How many of the traceback's last lines a ``failed`` record keeps as its error."""


def run_in_process(configs: Sequence[RunConfig], threads: int | str | None = None) -> int:
    """Run ``configs`` (one training) with :func:`run_threads` torch threads (``threads``:
    ``run --threads``) and print each record; when the run raises anything but a UserError
    or an interrupt, print the traceback, write a ``failed`` record per config with its
    last lines (not from a secondary rank: rank 0 writes them), and return RUN_FAILED."""
    import torch

    from benchmark.core.progress import stage
    from benchmark.core.ranks import is_secondary_rank
    from benchmark.core.threads import run_threads, threads_per_process

    count, why = run_threads(threads)
    threads = threads_per_process(count, configs[0])
    if configs[0].world_size > 1:  # the training's other processes start with this env
        os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    if not is_secondary_rank():
        stage(f"{threads} torch thread{'s' if threads > 1 else ''} per process ({why}; "
              "--threads N or auto sets it)")
    # the pipeline's imports (Lightning and what it pulls in) come after the first stage line
    from benchmark.results.summary import run_table
    from benchmark.run.pipeline import run_tasks
    from benchmark.run.record import write_failed_records

    try:
        results = run_tasks(configs)
    except UserError:
        raise
    except Exception:  # not KeyboardInterrupt, a BaseException: interrupted runs leave none
        text = traceback.format_exc()
        print(text, end="", file=sys.stderr)
        if is_secondary_rank():  # rank 0 writes the records, a failed one too
            return exit_codes.RUN_FAILED
        error = "\n".join(text.strip().splitlines()[-FAILED_RECORD_LINES:])
        for path in write_failed_records(configs, error):
            print(f"the run failed: failed record {path}", file=sys.stderr)
        return exit_codes.RUN_FAILED
    for record, path in results:
        print(run_table(record))
        print(f"record: {path}")
    return exit_codes.OK

import os
import sys

# NumPy's and SciPy's OpenBLAS read their thread count once, when they load, and a count
# of two adds a covariance in another order than one: scoring would then depend on
# whether the process was started with OMP_NUM_THREADS (a sweep's run) or without (a
# submitit job, a plain run). One thread, set before anything loads them, in this process
# and in every process it starts; their work (scoring's covariances and eigenvalues) is
# small. Torch's own thread count is the run's (benchmark/core/threads.py).
os.environ["OPENBLAS_NUM_THREADS"] = "1"

if sys.argv[1:2] == ["run"]:  # how torch's threads wait: chosen before torch loads
    from benchmark.core.threads import choose_wait_policy

    choose_wait_policy()

from benchmark.cli import main

raise SystemExit(main())

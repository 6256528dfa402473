import os

# NumPy's and SciPy's OpenBLAS read their thread count once, when they load, and a count
# of two adds a covariance in another order than one: scoring would then depend on
# whether the process was started with OMP_NUM_THREADS (a sweep's run) or without (a
# submitit job, a plain run). One thread, set before anything loads them, in this process
# and in every process it starts; their work (scoring's covariances and eigenvalues) is
# small. Torch's own thread count is the run's (benchmark/core/threads.py).
os.environ["OPENBLAS_NUM_THREADS"] = "1"

from benchmark.cli import main

raise SystemExit(main())

"""Which process of a multi-process training this is, from its launcher's environment.

Lightning's subprocess launcher starts the processes of ranks 1..N-1 by re-running the
same command with ``LOCAL_RANK`` (and ``NODE_RANK``) set; torchrun sets ``RANK``; SLURM's
``srun`` sets ``SLURM_PROCID``. Such a *secondary rank* trains its share and writes
nothing (benchmark/run/distributed.py). Read without importing torch, so the CLI can decide
before any heavy import.
"""

from __future__ import annotations

import os

RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID")


def is_secondary_rank() -> bool:
    """Whether a launcher started this process as a rank other than 0 of a training."""
    return any(os.environ.get(name, "0").strip() not in ("", "0") for name in RANK_VARIABLES)

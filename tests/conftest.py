"""Fixtures shared by the test modules (in every sub-folder), one section per concern.

- threads: ``single_thread`` for modules that train tiny networks on a busy 2-core machine
  (opt in with ``pytestmark = pytest.mark.usefixtures("single_thread")``)
- datasets and caches: smoke caches built once per test session

Helpers that are not fixtures (batches, known answers, contracts) are in tests/support/.

Under pytest-xdist (``make test`` runs one worker per usable CPU) each worker computes
with its share of the usable CPUs: ``OMP_NUM_THREADS`` is set before numpy and torch start
their thread pools, so the workers never run more threads than there are cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmark.core.threads import usable_cpus

if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(
        1, usable_cpus() // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

# Imported after the thread count is set: numpy and torch read it when they load.
import pytest
import torch

# ------------------------------------------------------------------------------ threads


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    """One torch thread for the module: tiny matrices gain nothing from two, and the
    machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------- datasets and caches


@pytest.fixture
def no_cache_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """For sweeps whose runs are stand-in commands that read no cache: skip building the
    configs' caches first (``sweep.build_caches``). On a fresh clone that build is the
    default profile's whole pipeline (minutes), and on a busy machine it can outlast a
    claim a test holds in another process."""
    from benchmark.sweep import planning as sweep

    monkeypatch.setattr(sweep, "build_caches", lambda configs, progress: None)


@pytest.fixture(scope="session")
def smoke_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for ``python -m benchmark`` subprocesses on the smoke profile: its
    ``ANYBENCH_CACHE`` is a folder that ``prepare --profile smoke`` filled once (dataset,
    backbones, judges, embeddings), so every run and sweep finds them cached. The folder is
    ``ANYBENCH_TEST_CACHE`` when set (CI passes its cache, so its drift check finds the
    smoke caches built), else one shared by this session's xdist workers; a file lock lets
    one worker build while the other waits. ``OMP_NUM_THREADS`` fixes a ``run``'s thread
    count (it would otherwise follow the load at its start: benchmark/core/threads.py), so
    runs compared with each other compute alike."""
    cache = _smoke_cache_folder(tmp_path_factory)
    env = {"OMP_NUM_THREADS": str(usable_cpus()), **os.environ, "ANYBENCH_CACHE": str(cache)}
    from filelock import FileLock

    with FileLock(f"{cache}.lock"):
        prepared = subprocess.run(
            [sys.executable, "-m", "benchmark", "prepare", "--profile", "smoke", "--preview",
             str(tmp_path_factory.mktemp("smoke-preview"))],
            capture_output=True, text=True, env=env, timeout=900,
        )
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    return env


def _smoke_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ANYBENCH_TEST_CACHE``, else a folder of this session (under xdist: the workers'
    common base folder)."""
    if os.environ.get("ANYBENCH_TEST_CACHE"):
        return Path(os.environ["ANYBENCH_TEST_CACHE"]).resolve()
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return tmp_path_factory.mktemp("smoke-cache")
    folder = tmp_path_factory.getbasetemp().parent / "smoke-cache"
    folder.mkdir(exist_ok=True)
    return folder

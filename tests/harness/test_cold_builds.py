"""Cold builds are bit-identical: the same commit, lock file and thread count give the same
cache bytes on any clone, whatever thread count the process that builds them runs with
(benchmark/core/threads.py), and the same run then gives the same numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.core.cache import load_or_build
from benchmark.core.threads import CACHE_BUILD_THREADS, torch_threads


def test_torch_threads_sets_and_restores_the_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_every_cache_is_built_with_the_fixed_thread_count(tmp_path):
    """Whoever builds a cache (a one-thread sweep run, a many-core ``run``), the builder
    computes with CACHE_BUILD_THREADS threads, and the caller's count is restored."""
    seen = []

    def build() -> str:
        seen.append(torch.get_num_threads())
        return "built"

    with torch_threads(1):
        load_or_build(tmp_path / "artifact.txt", build, save=lambda v, p: p.write_text(v),
                      load=lambda p: p.read_text())
        assert torch.get_num_threads() == 1
    assert seen == [CACHE_BUILD_THREADS]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _prepare(cache: Path, preview: Path, threads: str) -> None:
    env = {**os.environ, "ANYBENCH_CACHE": str(cache), "OMP_NUM_THREADS": threads}
    done = subprocess.run([sys.executable, "-m", "benchmark", "prepare", "--profile", "smoke",
                           "--preview", str(preview)],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]


def _run(cache: Path, results: Path) -> dict:
    env = {**os.environ, "ANYBENCH_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "benchmark", "run", "--method", "flowbind",
                           "--task", "audio2image", "--profile", "smoke", "--steps", "30",
                           "--results", str(results), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = results.glob("*.json")
    return json.loads(path.read_text())


def _measured(record: dict) -> dict:
    """What a record measured, without the wall-clock figures (seconds vary run to run)."""
    def timeless(figures: dict) -> dict:
        return {k: v for k, v in figures.items() if k != "seconds"}

    return {"metrics": record["metrics"], "references": record["references"],
            "judges": record["judges"], "params": record["params"],
            "budget": timeless(record["budget"]),
            "curve": [timeless(point) for point in record["curve"]]}


@pytest.mark.slow
def test_two_cold_builds_are_byte_identical_and_runs_on_them_agree(tmp_path):
    """The smoke caches built twice, in two folders, by processes running with one and with
    two threads: every file is byte-identical. The same run on each gives the same record
    numbers and per-item scores."""
    first, second = tmp_path / "cache-1", tmp_path / "cache-2"
    _prepare(first, tmp_path / "preview-1", threads="1")
    _prepare(second, tmp_path / "preview-2", threads="2")
    built_first, built_second = _files(first), _files(second)
    assert sorted(built_first) == sorted(built_second)
    differing = [name for name in built_first if built_first[name] != built_second[name]]
    assert differing == []
    assert _files(tmp_path / "preview-1") == _files(tmp_path / "preview-2")

    record_first = _run(first, tmp_path / "results-1")
    record_second = _run(second, tmp_path / "results-2")
    assert _measured(record_first) == _measured(record_second)
    scores_first = np.load(tmp_path / "results-1" / record_first["per_sample_file"])
    scores_second = np.load(tmp_path / "results-2" / record_second["per_sample_file"])
    assert sorted(scores_first.files) == sorted(scores_second.files)
    for name in scores_first.files:
        assert np.array_equal(scores_first[name], scores_second[name], equal_nan=True), name

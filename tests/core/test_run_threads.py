"""A run's thread count: --threads, OMP_NUM_THREADS, else every usable CPU (never the load,
unless asked for with --threads auto)."""

from __future__ import annotations

import pytest

from benchmark.core import threads


def test_omp_num_threads_decides_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.run_threads() == (3, "OMP_NUM_THREADS")
    assert threads.chosen_rule() == "OMP_NUM_THREADS"


@pytest.mark.parametrize("busy", [0.0, 0.9, 2.0])
def test_by_default_every_usable_cpu_whatever_the_load(
        monkeypatch: pytest.MonkeyPatch, busy: float) -> None:
    """Same command, same machine, same count: the load at the start never decides."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "busy_cpus", lambda window_s=0.25: busy)
    assert threads.run_threads() == (2, "2 usable CPUs")


@pytest.mark.parametrize(("usable", "busy", "expected"),
                         [(2, 0.1, 2), (2, 0.9, 1), (2, 2.0, 1), (8, 2.6, 5)])
def test_auto_takes_the_usable_cpus_not_busy_and_at_least_one(
        monkeypatch: pytest.MonkeyPatch, usable: int, busy: float, expected: int) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # asked for auto: the load decides
    monkeypatch.setattr(threads, "usable_cpus", lambda: usable)
    monkeypatch.setattr(threads, "busy_cpus", lambda window_s=0.25: busy)
    count, why = threads.run_threads(threads.AUTO)
    assert count == expected and why.startswith(f"--threads auto: {usable} usable CPUs")


def test_a_count_asked_for_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    assert threads.run_threads(3) == (3, "--threads")


def test_the_run_flag_takes_a_count_or_auto_and_refuses_the_rest() -> None:
    import argparse

    from benchmark.cli.arguments import thread_request

    assert thread_request("4") == 4 and thread_request("auto") == "auto"
    for bad in ("0", "many", "-1"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive integer or auto"):
            thread_request(bad)


def test_busy_cpus_sees_a_spinning_neighbour() -> None:
    import subprocess
    import sys

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert threads.busy_cpus(window_s=1.0) >= 0.5
    finally:
        spinner.kill()
        spinner.wait()


@pytest.mark.parametrize(("usable", "jobs", "given", "expected"),
                         [(4, 2, None, 2), (3, 2, None, 1), (1, 4, None, 1), (64, 2, 3, 3)])
def test_a_sweep_shares_the_usable_cpus_among_its_jobs(
        monkeypatch: pytest.MonkeyPatch, usable: int, jobs: int, given: int | None,
        expected: int) -> None:
    """The affinity mask, not the machine's core count (a container or taskset share)."""
    from benchmark.sweep import planning as sweep

    monkeypatch.setattr(sweep, "usable_cpus", lambda: usable)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert sweep.threads_per_run(jobs, given) == expected


def test_a_sweep_and_a_folder_decode_count_the_cpus_the_affinity_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sweep's threads per run and the decoding workers use the CPUs a run may use (its
    affinity mask, as under ``taskset`` or a container's share), not the machine's count."""
    from benchmark.data.folder.decoding import MAX_WORKERS, WORKERS_ENV, worker_count
    from benchmark.sweep.planning import threads_per_run

    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 64)
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert threads_per_run(jobs=2) == 2
    assert worker_count() == min(4, MAX_WORKERS)


TRAIN_AND_HASH = """
import hashlib, torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.GELU(), torch.nn.Linear(512, 256))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
x = torch.randn(512, 256)
for _ in range(20):
    opt.zero_grad()
    ((net(x) - x) ** 2).mean().backward()
    opt.step()
print(torch.get_num_threads(), hashlib.sha256(b"".join(
    p.detach().numpy().tobytes() for p in net.parameters())).hexdigest())
"""


def test_the_wait_policy_moves_no_number() -> None:
    """Spinning or sleeping at the barrier: the same two threads give the same weights."""
    import os
    import subprocess
    import sys

    outputs = {
        policy: subprocess.run(
            [sys.executable, "-c", TRAIN_AND_HASH], capture_output=True, text=True,
            check=True, env={**os.environ, "OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": policy},
            timeout=120).stdout.split()
        for policy in ("ACTIVE", "PASSIVE")}
    assert outputs["ACTIVE"][0] == "2"
    assert outputs["ACTIVE"] == outputs["PASSIVE"]


@pytest.mark.parametrize(("given", "busy", "expected"),
                         [(None, 0.0, None), (None, 0.6, "PASSIVE"), ("ACTIVE", 1.9, "ACTIVE")])
def test_threads_sleep_at_barriers_only_beside_busy_processes(
        monkeypatch: pytest.MonkeyPatch, given: str | None, busy: float,
        expected: str | None) -> None:
    if given is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", given)
    monkeypatch.setattr(threads, "busy_cpus", lambda window_s=0.1: busy)
    threads.choose_wait_policy()
    import os

    assert os.environ.get("OMP_WAIT_POLICY") == expected

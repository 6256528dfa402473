"""Sweeps through submitit (benchmark/sweep/cluster.py): local submitit jobs make the records a
local sweep makes, a killed job is made again by the next sweep and nothing else is, and a
SLURM sweep submits the job array it should (checked on the script a stub ``sbatch``
receives)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.core.config import RunConfig
from benchmark.sweep.cluster import GroupJob

SMOKE_GRID = ["--profile", "smoke", "--steps", "10", "--no-progress"]


def _sweep(results: Path, env: dict[str, str], *args: str, timeout: int = 600
           ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmark", "sweep", *args, *SMOKE_GRID,
                           "--results", str(results)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def _records(results: Path) -> dict[str, dict]:
    records = {}
    for path in results.glob("*.json"):
        record = json.loads(path.read_text())
        records[record["run_key"]] = record
    return records


def test_a_submitit_local_sweep_writes_the_records_of_a_local_sweep(tmp_path, smoke_env):
    # two suite trainings, two jobs in flight, each training writing two records
    grid = ["--methods", "flowbind", "--tasks", "text2image,image2text", "--seeds", "0,1",
            "--protocol", "suite", "--jobs", "2"]
    local = _sweep(tmp_path / "local", smoke_env, *grid)
    assert local.returncode == 0, local.stderr[-3000:]
    submitit = _sweep(tmp_path / "submitit", smoke_env, *grid, "--executor", "submitit-local")
    assert submitit.returncode == 0, submitit.stderr[-3000:]
    assert "4 run, 0 already done, 0 failed" in submitit.stdout

    by_local, by_submitit = _records(tmp_path / "local"), _records(tmp_path / "submitit")
    assert len(by_local) == 4 and by_submitit.keys() == by_local.keys()
    for key, record in by_local.items():
        assert by_submitit[key]["status"] == record["status"] == "ok"
        assert by_submitit[key]["metrics"] == record["metrics"], (record["method"],
                                                                   record["task"])
    assert list((tmp_path / "submitit" / ".submitit").glob("*_result.pkl"))


def _job_processes(folder: Path) -> list[int]:
    """Pids of submitit task processes working on jobs in ``folder``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"submitit.core._submit" in command and str(folder).encode() in command:
            pids.append(int(entry.name))
    return pids


def test_a_killed_job_is_made_again_by_the_next_sweep_and_nothing_else(tmp_path, smoke_env):
    results = tmp_path / "results"
    grid = ["--methods", "flowbind", "--tasks", "text2image", "--seeds", "0,1",
            "--executor", "submitit-local"]
    sweep = subprocess.Popen([sys.executable, "-m", "benchmark", "sweep", *grid, *SMOKE_GRID,
                              "--results", str(results)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=smoke_env)
    deadline = time.monotonic() + 300
    killed = None
    while killed is None and time.monotonic() < deadline and sweep.poll() is None:
        staging = results / ".staging"
        pids = _job_processes(results / ".submitit")
        if pids and staging.exists() and any(p.is_dir() for p in staging.iterdir()):
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.2)
    stdout, stderr = sweep.communicate(timeout=600)
    assert killed is not None, f"no job was caught mid-run: {stderr[-2000:]}"
    assert sweep.returncode == 3, stderr[-3000:]  # one run failed
    assert "1 run, 0 already done, 1 failed" in stdout
    statuses = sorted(record["status"] for record in _records(results).values())
    assert statuses == ["failed", "ok"]
    assert not any(p.name.endswith(".per_sample.npz") and p.name.startswith(".")
                   for p in results.iterdir())

    again = _sweep(results, smoke_env, *grid)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 run, 1 already done, 0 failed" in again.stdout


def _stub_slurm(folder: Path) -> dict[str, str]:
    """``sbatch`` and ``srun`` stand-ins on PATH: sbatch keeps the script it is given and
    answers as SLURM does; srun only has to exist (submitit looks for it)."""
    folder.mkdir()
    (folder / "sbatch").write_text(
        f'#!/bin/sh\ncp "$1" "{folder}/submitted-$$.sh"\necho "Submitted batch job 4242"\n')
    (folder / "srun").write_text("#!/bin/sh\nexit 0\n")
    for name in ("sbatch", "srun"):
        (folder / name).chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_a_slurm_sweep_submits_one_job_array_with_the_resources_asked(tmp_path, smoke_env):
    env = {**smoke_env, **_stub_slurm(tmp_path / "bin")}
    results = tmp_path / "results"
    grid = ["--methods", "flowbind,cfm", "--tasks", "text2image", "--seeds", "0,1,2",
            "--executor", "slurm", "--slurm-partition", "gpu-short", "--slurm-time", "90",
            "--slurm-gpus-per-node", "1", "--slurm-cpus-per-task", "8", "--slurm-mem", "32",
            "--slurm-array-parallelism", "4"]

    dry = _sweep(results, env, *grid, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "6 jobs (slurm)" in dry.stdout and "--array=0-5%4" in dry.stdout
    assert not list((tmp_path / "bin").glob("submitted-*.sh"))  # nothing submitted

    submitted = _sweep(results, env, *grid)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    assert "6 runs submitted to SLURM as jobs 4242_0" in submitted.stdout
    scripts = list((tmp_path / "bin").glob("submitted-*.sh"))
    assert len(scripts) == 1
    script = scripts[0].read_text()
    for line in ("#SBATCH --array=0-5%4", "#SBATCH --partition=gpu-short",
                 "#SBATCH --time=90", "#SBATCH --gpus-per-node=1", "#SBATCH --cpus-per-task=8",
                 "#SBATCH --mem=32GB", "#SBATCH --ntasks-per-node=1", "#SBATCH --nodes=1"):
        assert line in script, line
    assert "-m submitit.core._submit" in script
    assert len(list((results / ".submitit").glob("4242_*_submitted.pkl"))) == 6
    assert not list(results.glob("*.json"))  # the jobs run on the cluster, not here


def test_a_slurm_sweep_without_slurm_says_so(tmp_path, smoke_env):
    env = {**smoke_env, "PATH": os.path.dirname(sys.executable)}
    done = _sweep(tmp_path, env, "--methods", "flowbind", "--tasks", "text2image",
                  "--executor", "slurm")
    assert done.returncode == 2
    assert "needs SLURM's commands" in done.stderr and "Traceback" not in done.stderr


def test_a_preempted_job_is_requeued_once():
    work = GroupJob([RunConfig(method="flowbind", task="text2image")], threads=1)
    again = work.checkpoint()
    assert again.function.configs == work.configs and again.function.threads == 1
    assert again.function.checkpoint() is None


@pytest.mark.parametrize("executor", ["local", "submitit-local"])
def test_a_dry_run_starts_nothing(tmp_path, executor):
    done = subprocess.run([sys.executable, "-m", "benchmark", "sweep", "--methods", "flowbind",
                           "--tasks", "text2image,image2text", "--executor", executor,
                           "--dry-run", "--results", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"2 jobs ({executor})" in done.stdout
    assert not list(tmp_path.glob("*.json")) and not (tmp_path / "sweep-plan.jsonl").exists()

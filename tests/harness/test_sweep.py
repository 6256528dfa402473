"""Sweeps: every combination run once, resumed from existing records, failures recorded."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.results.sweep_plan import planned_runs
from benchmark.sweep import local
from benchmark.sweep import planning as sweep


def _sweep(results: Path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmark", "sweep", "--methods", "flowbind,codi",
         "--tasks", "audio2image", "--seeds", "0", "--profile", "smoke",
         "--budget", "samples=2560", "--results", str(results), "--no-progress", *extra],
        capture_output=True, text=True, env=env, timeout=600,
    )


def test_sweep_runs_each_combination_once_and_resumes(tmp_path_factory, smoke_env):
    results = tmp_path_factory.mktemp("runs")
    first = _sweep(results, smoke_env, "--jobs", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    records = sorted(results.glob("*.json"))
    assert len(records) == 2
    assert "2 run, 0 already done, 0 failed" in first.stdout
    assert "flowbind" in first.stdout and "image.attr_acc[judge:scenes-v1]" in first.stdout

    # an interrupted sweep is one with records missing: only those are run again
    records[0].unlink()
    again = _sweep(results, smoke_env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 run, 1 already done, 0 failed" in again.stdout
    assert len(list(results.glob("*.json"))) == 2


@pytest.mark.usefixtures("no_cache_builds")
def test_a_failing_run_gets_a_failed_record_and_the_sweep_goes_on(tmp_path, monkeypatch):
    def command(group):
        if group[0].seed == 1:
            return [sys.executable, "-c", "import sys; sys.exit('boom: out of memory')"]
        return [sys.executable, "-c", "pass"]

    monkeypatch.setattr(local, "run_command", command)
    configs = [RunConfig("flowbind", "audio2image", seed=s, results_dir=tmp_path)
               for s in (0, 1, 2)]
    outcome = sweep.run_sweep(configs, jobs=2, progress=False)
    assert len(outcome.done) == 2 and len(outcome.failed) == 1
    (failed,) = tmp_path.glob("*failed*.json")
    record = json.loads(failed.read_text())
    assert record["status"] == "failed" and "boom: out of memory" in record["error"]
    assert record["run_key"] == configs[1].run_key()
    # the plan left in the folder lists every run the sweep set out to do
    assert [run["seed"] for run in planned_runs(tmp_path)] == [0, 1, 2]
    assert configs[1].run_key() not in sweep.completed_keys(tmp_path)


def test_plan_validates_every_combination_up_front():
    configs, refused = sweep.plan(["flowbind"], ["audio2image"], [0, 1])
    assert [c.seed for c in configs] == [0, 1] and refused == []
    with pytest.raises(UserError, match="did you mean 'flowbind'"):
        sweep.plan(["flowbnd"], ["audio2image"], [0])


@pytest.mark.usefixtures("no_cache_builds")
def test_suite_protocol_trains_once_per_method_and_seed(tmp_path, monkeypatch):
    commands = []

    def command(group):
        commands.append(group)
        return [sys.executable, "-c", "pass"]

    monkeypatch.setattr(local, "run_command", command)
    configs = [RunConfig("flowbind", task, seed=s, protocol="suite", results_dir=tmp_path)
               for task in ("audio2image", "text2image", "image2text") for s in (0, 1)]
    outcome = sweep.run_sweep(configs, jobs=1, progress=False)
    assert len(outcome.done) == 6
    assert sorted(len(group) for group in commands) == [3, 3]
    assert {c.seed for c in commands[0]} in ({0}, {1})


@pytest.mark.usefixtures("no_cache_builds")
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_an_interrupt_stops_the_runs_in_flight_and_records_nothing(stop_signal, tmp_path,
                                                                   monkeypatch):
    marker = tmp_path / "started"
    # the runs ignore SIGINT, as runs of a sweep started in a background shell do
    monkeypatch.setattr(local, "run_command", lambda group: [
        sys.executable, "-c",
        "import pathlib, signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        f"pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"])
    configs = [RunConfig("flowbind", "audio2image", seed=s, results_dir=tmp_path)
               for s in (0, 1, 2)]

    def interrupt_once_a_run_is_in_flight():
        while not marker.exists():
            time.sleep(0.05)
        os.kill(os.getpid(), stop_signal)

    # A shell starts background jobs with SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler: give this process the one a terminal would.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=interrupt_once_a_run_is_in_flight, daemon=True).start()
    started = time.monotonic()
    try:
        outcome = sweep.run_sweep(configs, jobs=2, progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert outcome.interrupted
    assert time.monotonic() - started < 30  # the sleeping runs were stopped, not awaited
    assert outcome.done == [] and outcome.failed == []
    assert list(tmp_path.glob("*.json")) == []

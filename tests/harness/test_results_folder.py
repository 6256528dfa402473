"""The results folder: claims on run keys, one record per run for every reader, unreadable
files skipped and named, the folder checked before any work, staged writes that a killed
run cannot leave half-done, and a failed record (exit 3) for a run that crashes."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from benchmark.check import make_baseline, write_baseline
from benchmark.cli import main
from benchmark.core import exit_codes
from benchmark.core.config import RunConfig
from benchmark.core.errors import NonFiniteOutput
from benchmark.report import write_report
from benchmark.report.collection import load_collection
from benchmark.results.claims import holder_pid, try_claim
from benchmark.results.folder import prepare, read_runs
from benchmark.results.records import RunRecord, write_record, write_samples
from benchmark.results.staging import STAGING_FOLDER, clean_abandoned, staging
from benchmark.sweep import local
from benchmark.sweep import planning as sweep
from support.paths import ROOT

# The sweeps here run stand-in commands that read no cache (conftest: no_cache_builds).
pytestmark = pytest.mark.usefixtures("no_cache_builds")

ATTR = "image.attr_acc[judge:scenes-v1]"


def _configs(folder: Path, seeds=(0, 1)) -> list[RunConfig]:
    return [RunConfig("flowbind", "text2image", seed=seed, profile="smoke", results_dir=folder)
            for seed in seeds]


def _record(config: RunConfig, attr: float, *, status: str = "ok", when: str = "20260101T000000",
            samples: str | None = None) -> RunRecord:
    """A record of ``config``'s run (its run_key), written at ``when`` (the run_id's time)."""
    return RunRecord(
        run_id=f"{when}-flowbind-text2image-tiny-s{config.seed}-{status}",
        method="flowbind", task="text2image", dataset="scenes:smoke", preset="tiny",
        seed=config.seed, status=status,
        budget={"kind": "samples", "value": 1000, "used": 1024, "samples": 1024, "steps": 4,
                "flops": 4e9, "seconds": 1.5, "flops_per_step": 1e9},
        params={"trainable": 10, "serve_task": 5, "serve_suite": 8, "suite_tasks": 12,
                "suite_trainable": 10, "paper_preset_trainable": None,
                "paper_preset_serve_suite": None},
        timing={"train_s": 1.5, "samples_per_s": 700.0}, sampling={"steps": 20, "n": 100},
        metrics={} if status != "ok" else {
            ATTR: {"value": attr, "n": 100, "ci_low": attr - 0.01, "ci_high": attr + 0.01}},
        references={"oracle": {}, "chance": {}}, judges={},
        config={"run": {"profile": "smoke", "budget": None, "evaluator": "embedded"},
                "dataset": {"name": "scenes", "media": {"sample_rate": 8000}}},
        provenance={}, run_key=config.run_key(), samples_file=samples,
        error=None if status == "ok" else "RuntimeError: boom",
    )


def _folder_of_two_seeds(folder: Path) -> list[RunConfig]:
    configs = _configs(folder)
    write_record(_record(configs[0], 0.80), folder)
    write_record(_record(configs[1], 0.60), folder)
    return configs


# ------------------------------------------------------------------ one record per run


def test_a_duplicated_record_file_counts_once_in_the_report_and_is_named(tmp_path):
    folder = tmp_path / "runs"
    _folder_of_two_seeds(folder)
    (original,) = [p for p in folder.glob("*.json") if "-s1-" in p.name]
    shutil.copy(original, folder / f"copy-of-{original.name}")

    report = write_report(folder, tmp_path / "report")
    table = (report.folder / "table.md").read_text()
    # mean of 0.80 and 0.60 over two seeds; the copy would have made it 0.667 over three
    assert "0.700 ± 0.141" in table
    (line,) = [p for p in report.problems if "duplicates" in p]
    assert original.name in line and f"copy-of-{original.name}" in line


def _baseline(folder: Path, records: list[RunRecord]) -> Path:
    """A baseline of ``records`` whose sweep plans exactly the runs of :func:`_configs`."""
    path = folder / "baselines" / "demo.json"
    sweep_settings = {"methods": ["flowbind"], "tasks": ["text2image"], "seeds": [0, 1],
                      "profile": "smoke"}
    write_baseline(path, make_baseline("demo", sweep_settings, records))
    return path


def test_check_and_the_sweep_summary_keep_one_record_per_run_and_warn(tmp_path, capsys):
    configs = _configs(tmp_path)
    older = _record(configs[0], 0.80)
    later = _record(configs[0], 0.61, when="20260102T000000")  # the same run, made again
    for record in (older, later, _record(configs[1], 0.60)):
        write_record(record, tmp_path)
    # seeds agree to 0.01, so keeping the older 0.80 would drift beyond the tolerance
    baseline = _baseline(tmp_path, [later, _record(configs[1], 0.60)])

    kept = sweep.completed_records(configs)
    assert sorted((r.seed, r.metrics[ATTR]["value"]) for r in kept) == [(0, 0.61), (1, 0.60)]
    assert f"ignored {older.run_id}.json" in capsys.readouterr().err
    code = main(["check", "--baseline", str(baseline), "--results", str(tmp_path),
                 "--no-progress"])
    out, err = capsys.readouterr()
    assert code == exit_codes.OK, out + err
    assert "0 of 1 metrics drifted" in out
    (warning,) = [line for line in err.splitlines() if "records of one run" in line]
    assert warning == (f"warning: 2 records of one run (flowbind text2image seed 0, run_key "
                       f"{configs[0].run_key()}): kept {later.run_id}.json, ignored "
                       f"{older.run_id}.json")


def test_a_failed_run_that_later_succeeded_is_not_listed_as_failed(tmp_path):
    configs = _configs(tmp_path, seeds=(0, 1))
    write_record(_record(configs[0], 0, status="failed", when="20260101T000000"), tmp_path)
    write_record(_record(configs[0], 0.8, when="20260102T000000"), tmp_path)
    # seed 1 failed twice and never succeeded: listed once, by its newest record
    write_record(_record(configs[1], 0, status="failed", when="20260101T000000"), tmp_path)
    newest = _record(configs[1], 0, status="failed", when="20260103T000000")
    newest.error = "RuntimeError: the second attempt"
    write_record(newest, tmp_path)

    collection = load_collection(tmp_path)
    assert [r.seed for r in collection.records] == [0]
    assert [r.run_id for r in collection.failed] == [newest.run_id]
    assert [p for p in collection.problems() if p.startswith("failed")] == [
        "failed: flowbind text2image seed 1: ['RuntimeError: the second attempt']"]
    assert len(list(tmp_path.glob("*failed*.json"))) == 3  # history stays on disk


# ------------------------------------------------------------------- unreadable files


def test_a_truncated_record_is_skipped_with_a_warning_and_its_run_made_again(tmp_path,
                                                                             capsys,
                                                                             monkeypatch):
    configs = _folder_of_two_seeds(tmp_path)
    (seed_1,) = [p for p in tmp_path.glob("*.json") if "-s1-" in p.name]
    seed_1.write_text(seed_1.read_text()[:100])  # cut short, as by a full disk
    truncated = seed_1.read_text()

    assert sweep.completed_keys(tmp_path) == {configs[0].run_key()}
    runs = read_runs(tmp_path)
    assert [path for path, _ in runs.unreadable] == [seed_1]
    started = []
    monkeypatch.setattr(local, "run_command", lambda group: started.append(group) or [
        sys.executable, "-c", "pass"])
    outcome = sweep.run_sweep(configs, progress=False)
    assert outcome.done == [configs[1].run_key()] and outcome.skipped == [configs[0].run_key()]
    assert seed_1.read_text() == truncated  # never overwritten nor deleted
    assert [r.seed for r in sweep.completed_records(configs)] == [0]
    assert f"unreadable record {seed_1}" in capsys.readouterr().err

    baseline = _baseline(tmp_path, [_record(c, 0.7) for c in configs])
    code = main(["check", "--baseline", str(baseline), "--results", str(tmp_path),
                 "--no-progress"])
    out, err = capsys.readouterr()
    # no JSONDecodeError: the check reads on, and seed 1 (re-run, but by a stand-in that
    # writes nothing) is missing, which is drift
    assert code == exit_codes.DRIFT and "missing" in out
    assert f"unreadable record {seed_1}" in err


def test_a_truncated_samples_file_leaves_the_report_working_and_is_listed(tmp_path):
    folder = tmp_path / "runs"
    configs = _configs(folder)
    for config, attr in zip(configs, (0.8, 0.6), strict=True):
        name = f"seed{config.seed}"
        samples = write_samples(name, {
            "source/text": np.array(["a red circle", "a blue square"]),
            "generated/image": np.zeros((2, 8, 8, 3), np.uint8),
            "truth/image": np.full((2, 8, 8, 3), 255, np.uint8)}, folder)
        write_record(_record(config, attr, samples=samples.name), folder)
    damaged = folder / "seed0.samples.npz"
    damaged.write_bytes(damaged.read_bytes()[:200])

    report = write_report(folder, tmp_path / "report")
    assert "unreadable samples file: seed0.samples.npz" in report.problems
    page = (report.folder / "index.html").read_text()
    assert "(seed 1)" in page  # the gallery shows the next seed's samples instead


# --------------------------------------------------------- the folder, before any work


def _quick_cli(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, float]:
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True,
                            text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "ANYBENCH_CACHE": str(cache)})
    assert list(cache.iterdir()) == []  # nothing was built
    return result, time.monotonic() - started


COMMANDS = {
    "run": ["run", "--method", "flowbind", "--task", "audio2image", "--profile", "smoke"],
    "sweep": ["sweep", "--methods", "flowbind", "--tasks", "audio2image", "--profile", "smoke",
              "--no-progress"],
    "check": ["check", "--baseline", "results/baselines/ci-smoke.json", "--no-progress"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_results_path_that_is_a_file_is_refused_before_any_work(command, tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("not a folder")
    result, seconds = _quick_cli([*COMMANDS[command], "--results", str(path)], tmp_path)
    assert result.returncode == exit_codes.USER_ERROR, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"python -m benchmark: error: --results {path} is a file, not a folder: give the path "
        "of a folder (it is created if missing)"]
    assert seconds < 60


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write in: mode 0500, or for root (whom modes do not
    stop) a sysfs folder; skips the test when there is none."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    for candidate in (folder, Path("/sys/kernel")):
        try:
            tempfile.TemporaryFile(dir=candidate).close()
        except OSError:
            return candidate
    pytest.skip("no folder here refuses writes to this user")


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_an_unwritable_results_folder_is_refused_before_any_work(command, tmp_path):
    folder = _unwritable_folder(tmp_path)
    result, seconds = _quick_cli([*COMMANDS[command], "--results", str(folder)], tmp_path)
    assert result.returncode == exit_codes.USER_ERROR, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"cannot write in the results folder {folder}" in line and "--results" in line
    assert seconds < 60


# ------------------------------------------------------------------------------ claims


def test_a_run_whose_key_another_process_holds_exits_2_at_once(tmp_path, capsys):
    config = RunConfig("flowbind", "audio2image", profile="smoke", results_dir=tmp_path)
    held = try_claim(tmp_path, config.run_key())  # this process plays the other run
    try:
        code = main(["run", "--method", "flowbind", "--task", "audio2image", "--profile",
                     "smoke", "--results", str(tmp_path), "--no-progress"])
    finally:
        held.release()
    assert code == exit_codes.USER_ERROR
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (f"python -m benchmark: error: run_key {config.run_key()} (flowbind "
                    f"audio2image seed 0) is being run by another process (pid {os.getpid()}) "
                    f"in {tmp_path}; wait for it or use another --results")
    assert list(tmp_path.glob("*.json")) == []


@pytest.mark.slow  # two real smoke runs at once: about a minute on 2 cores
def test_two_identical_runs_started_together_write_one_record(tmp_path, smoke_env):
    command = [sys.executable, "-m", "benchmark", "run", "--method", "flowbind", "--task",
               "audio2image", "--profile", "smoke", "--steps", "2", "--results",
               str(tmp_path), "--no-progress"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=smoke_env) for _ in range(2)]
    results = [(process.returncode, *outputs) for process in processes
               for outputs in [process.communicate(timeout=600)]]
    codes = sorted(code for code, _, _ in results)
    assert codes == [exit_codes.OK, exit_codes.USER_ERROR], results
    (refused,) = [err for code, _, err in results if code == exit_codes.USER_ERROR]
    (line,) = refused.strip().splitlines()
    winner = next(p for p in processes if p.returncode == exit_codes.OK)
    assert f"is being run by another process (pid {winner.pid}) in {tmp_path}" in line
    assert "wait for it or use another --results" in line
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert not (tmp_path / STAGING_FOLDER).exists() or not any(
        (tmp_path / STAGING_FOLDER).iterdir())


def test_a_sweep_skips_a_run_another_process_holds_and_hands_its_own_claims_down(tmp_path,
                                                                                 monkeypatch):
    configs = _configs(tmp_path, seeds=(0, 1, 2))
    busy = configs[1].run_key()
    # each run process checks that it holds the claim its sweep took (adopted, not taken)
    adopt = ("import sys; from pathlib import Path; "
             "from benchmark.results.claims import try_claim; "
             "sys.exit(0 if try_claim(Path(sys.argv[1]), sys.argv[2]) else 5)")
    monkeypatch.setattr(local, "run_command", lambda group: [
        sys.executable, "-c", adopt, str(tmp_path), group[0].run_key()])
    elsewhere = subprocess.Popen(  # another process holding seed 1's claim
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from benchmark.results.claims import try_claim; "
         "claim = try_claim(Path(sys.argv[1]), sys.argv[2]); print(flush=True); time.sleep(600)",
         str(tmp_path), busy], stdout=subprocess.PIPE, text=True)
    try:
        elsewhere.stdout.readline()
        assert holder_pid(tmp_path, busy) == elsewhere.pid
        outcome = sweep.run_sweep(configs, jobs=2, progress=False)
    finally:
        elsewhere.kill()
        elsewhere.wait()
    assert outcome.elsewhere == [busy] and outcome.failed == []
    assert sorted(outcome.done) == sorted(c.run_key() for c in configs if c.run_key() != busy)
    assert list(tmp_path.glob("*.json")) == []
    claim = try_claim(tmp_path, busy)
    assert claim is not None  # a dead holder holds nothing
    claim.release()


def test_two_identical_sweeps_started_together_make_each_run_once(tmp_path, monkeypatch):
    configs = _configs(tmp_path, seeds=(0, 1, 2, 3))
    # each run process stands in for a real one: a moment's work, then its ok record
    write_ok = ("import sys, time, uuid; time.sleep(0.3); "
                "open(f'{sys.argv[1]}/{uuid.uuid4().hex}.json', 'w').write(sys.argv[2])")
    commands = []
    monkeypatch.setattr(local, "run_command", lambda group: commands.append(group[0].seed) or [
        sys.executable, "-c", write_ok, str(tmp_path), _record(group[0], 0.5).to_json()])
    outcomes = []
    sweeps = [threading.Thread(target=lambda: outcomes.append(
        sweep.run_sweep(configs, progress=False))) for _ in range(2)]
    for thread in sweeps:
        thread.start()
    for thread in sweeps:
        thread.join(timeout=120)
    assert sorted(commands) == [0, 1, 2, 3]  # every run started once, by one of the two
    assert sorted(key for o in outcomes for key in o.done) == sorted(c.run_key() for c in configs)
    assert len(list(tmp_path.glob("*.json"))) == 4


def test_a_seed_given_twice_reaching_the_sweep_runs_once(tmp_path, monkeypatch):
    commands = []
    monkeypatch.setattr(local, "run_command", lambda group: commands.append(group) or [
        sys.executable, "-c", "pass"])
    configs = _configs(tmp_path, seeds=(0, 0))
    outcome = sweep.run_sweep(configs, progress=False)
    assert outcome.done == [configs[0].run_key()] and outcome.failed == []
    assert [[c.seed for c in group] for group in commands] == [[0]]


# ------------------------------------------------------------------- failed records


@pytest.mark.parametrize("error", [RuntimeError("boom"),
                                   NonFiniteOutput("flowbind generated 12 non-finite values")],
                         ids=["crash", "non-finite"])
def test_a_run_that_raises_writes_a_failed_record_and_exits_3(error, tmp_path, capsys,
                                                              monkeypatch):
    import benchmark.run.pipeline

    def crash(configs):
        raise error

    monkeypatch.setattr(benchmark.run.pipeline, "run_tasks", crash)
    code = main(["run", "--method", "flowbind", "--task", "audio2image", "--profile", "smoke",
                 "--results", str(tmp_path), "--no-progress"])
    assert code == exit_codes.RUN_FAILED
    assert "Traceback" in capsys.readouterr().err
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "failed" and "-failed-" in path.name
    assert record["error"].splitlines()[-1].endswith(f"{type(error).__name__}: {error}")
    assert record["run_key"] == RunConfig("flowbind", "audio2image", profile="smoke").run_key()


def _exit_with(code_line: str):
    return lambda group: [sys.executable, "-c", f"import os, sys, signal; {code_line}"]


@pytest.mark.parametrize(("line", "records", "error"), [
    ("sys.exit(3)", 0, None),  # the run wrote its own failed record
    ("sys.exit('python -m benchmark: error: bad input (see the fix)')", 1,
     "the run process exited with status 1"),
    ("print('one line', file=sys.stderr); sys.exit(2)", 1, "one line"),
    ("os.kill(os.getpid(), signal.SIGKILL)", 1, "the run process was killed by signal 9"),
], ids=["status-3", "status-1", "user-error", "killed"])
def test_the_sweep_writes_a_failed_record_only_when_its_run_could_not(line, records, error,
                                                                      tmp_path, monkeypatch):
    monkeypatch.setattr(local, "run_command", _exit_with(line))
    (config,) = _configs(tmp_path, seeds=(0,))
    outcome = sweep.run_sweep([config], progress=False)
    assert outcome.failed == [config.run_key()] and not outcome.interrupted
    written = list(tmp_path.glob("*.json"))
    assert len(written) == records
    if records:
        assert json.loads(written[0].read_text())["error"].splitlines()[-1].startswith(error)


# ------------------------------------------------------------------ staged writes


def test_a_killed_run_leaves_nothing_and_the_next_run_removes_what_it_moved(tmp_path):
    """A run process dies (os._exit: no cleanup, as kill -9) after moving its files but
    before its record; ``prepare`` (what the next run, sweep or report does) removes them."""
    script = f"""
import os
from pathlib import Path
from benchmark.results.staging import Staging
area = Staging(Path({str(tmp_path)!r}), "r1")
(area.folder / "logs" / "r1").mkdir(parents=True)
(area.folder / "logs" / "r1" / "metrics.csv").write_text("step,train/loss\\n")
(area.folder / "r1.per_sample.npz").write_bytes(b"scores")
(area.folder / "r1.json").write_text("{{}}")
link = os.link
os.link = lambda src, dst: os._exit(9) if str(dst).endswith(".json") else link(src, dst)
area.publish("r1.json", ["r1.per_sample.npz", "logs/r1"])
"""
    died = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=60)
    assert died.returncode == 9
    assert (tmp_path / "r1.per_sample.npz").exists() and (tmp_path / "logs" / "r1").is_dir()
    assert not (tmp_path / "r1.json").exists()

    prepare(tmp_path)
    assert not (tmp_path / "r1.per_sample.npz").exists()
    assert not (tmp_path / "logs" / "r1").exists()
    assert list((tmp_path / STAGING_FOLDER).iterdir()) == []


def test_a_dead_owners_published_run_is_kept_and_a_live_owners_folder_untouched(tmp_path):
    dead = tmp_path / STAGING_FOLDER / "done"
    dead.mkdir(parents=True)
    (dead / "manifest.json").write_text(json.dumps(
        {"entries": [{"record": "done.json", "files": ["done.samples.npz"]}]}))
    for name in ("done.json", "done.samples.npz"):
        (dead / name).write_text("x")
        os.link(dead / name, tmp_path / name)
    (tmp_path / STAGING_FOLDER / "done.lock").write_text("")  # nobody holds it

    with staging(tmp_path, "live") as live:
        (live.folder / "live.per_sample.npz").write_bytes(b"being written")
        assert clean_abandoned(tmp_path) == ["done"]
        assert (live.folder / "live.per_sample.npz").exists()
        held = os.open(tmp_path / STAGING_FOLDER / "live.lock", os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(held)
    assert (tmp_path / "done.json").exists() and (tmp_path / "done.samples.npz").exists()
    assert sorted(p.name for p in (tmp_path / STAGING_FOLDER).iterdir()) == []

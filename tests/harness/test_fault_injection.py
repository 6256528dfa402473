"""Fault injection (issue 15): ``run`` and ``sweep`` killed with SIGKILL at chosen points,
identical runs and sweeps started together on one results folder, a truncated record, a
damaged cache file, unusable and missing results folders, and a training loss that turns
NaN. After each fault :func:`assert_sound` checks the results folder (every record reads
whole, one record per run_key, each record's per-item scores, samples and training log are
there and read, no ``.npz`` file or log folder without its record), the runs completed
before the fault are byte for byte what they were, and the exit status is the documented
one (benchmark/core/exit_codes.py).

Each kill point is reached from outside the product: a run prints each stage on stderr as
it starts it (``[anybench] training ...``, ``[anybench] evaluating ...``) and the test
sends SIGKILL as soon as the line arrives (the stage lasts seconds, the kill takes
milliseconds). "While writing its files" is a run started with ``python -c`` that wraps
``Staging.publish`` to SIGKILL itself after a record's files were moved into the results
folder and before the record. A killed run leaves its (hidden) staging folder, and at that
last point files whose record never came; the next ``run``, ``sweep`` or ``report`` in the
folder removes them (benchmark/results/staging.py), which the tests do by calling
:func:`~benchmark.results.folder.prepare`, the first thing those commands do.

Runs are flowbind on the smoke profile's image2text for 2 steps, the quickest task to train
and score (under 20 s a run on two idle cores), on the ``smoke_env`` caches.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.core import exit_codes
from benchmark.core.config import RunConfig
from benchmark.results.claims import CLAIMS_FOLDER, try_claim
from benchmark.results.folder import prepare
from benchmark.results.records import (
    REFERENCES_FOLDER,
    RunRecord,
    write_per_sample,
    write_record,
    write_samples,
)
from benchmark.results.staging import STAGING_FOLDER
from benchmark.sweep import local
from support.paths import PLUGINS, ROOT

TASK = "image2text"
SMOKE = ["--profile", "smoke", "--no-progress"]
RUN = ["run", "--method", "flowbind", "--task", TASK, *SMOKE]
SWEEP = ["sweep", "--methods", "flowbind", "--tasks", TASK, "--seeds", "0,1,2", "--steps", "2",
         *SMOKE]
SUMMARY = re.compile(r"^(\d+) run, (\d+) already done, (\d+) failed, (\d+) refused, "
                     r"(\d+) running elsewhere; records in ", re.MULTILINE)

# -------------------------------------------------------------- processes under test


class Benchmark:
    """A ``python -m benchmark`` process (or ``python -c CODE`` with the same arguments),
    in a session of its own, whose stdout and stderr lines are collected as they come."""

    def __init__(self, args: Sequence[str | int | Path], env: Mapping[str, str],
                 code: str | None = None) -> None:
        entry = ["-c", code] if code is not None else ["-m", "benchmark"]
        self.popen = subprocess.Popen([sys.executable, *entry, *map(str, args)], cwd=ROOT,
                                      env=dict(env), text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._stderr_lines: queue.Queue[str | None] = queue.Queue()
        self._readers = [threading.Thread(target=self._collect, args=(stream, lines),
                                          daemon=True)
                         for stream, lines in ((self.popen.stdout, self.stdout),
                                               (self.popen.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    def _collect(self, stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            if lines is self.stderr:
                self._stderr_lines.put(line)
        if lines is self.stderr:
            self._stderr_lines.put(None)

    def wait_for_stage(self, stage: str, timeout: float = 300) -> None:
        """Return as soon as the process prints ``[anybench] <stage>``; fail if it ends or
        ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._stderr_lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"no stage {stage!r} within {timeout} s: {self.error_text()}")
            if line is None:
                self.popen.wait()
                pytest.fail(f"exit status {self.popen.returncode} before stage {stage!r}: "
                            f"{self.error_text()}")
            if line.startswith(f"[anybench] {stage}"):
                return

    def kill(self) -> None:
        """SIGKILL this process alone (not what it started), and check it died of it."""
        self.popen.send_signal(signal.SIGKILL)
        assert self.finish() == -signal.SIGKILL, self.error_text()

    def kill_group(self) -> None:
        """SIGKILL this process and every process it started (its process group)."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        assert self.finish() == -signal.SIGKILL, self.error_text()

    def finish(self, timeout: float = 900) -> int:
        """Wait for the process to end and its output to be read; its exit status."""
        code = self.popen.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=60)
        return code

    def error_text(self) -> str:
        return "\n".join(self.stderr[-40:])


@pytest.fixture
def start(smoke_env) -> Iterator[Callable[..., Benchmark]]:
    """Start :class:`Benchmark` processes on the smoke caches; whatever is still running at
    the end of the test (a failed test's) is killed with the processes it started."""
    started: list[Benchmark] = []

    def start_one(*args: str | int | Path, code: str | None = None,
                  env: Mapping[str, str] | None = None) -> Benchmark:
        process = Benchmark(args, env or smoke_env, code)
        started.append(process)
        return process

    yield start_one
    for process in started:
        if process.popen.poll() is None:
            os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}")
        time.sleep(0.1)


def claims_free(folder: Path) -> bool:
    """Whether no live process holds a claim on a run key of ``folder`` (each one is taken
    and let go again to find out)."""
    for lock in (folder / CLAIMS_FOLDER).glob("*.lock"):
        claim = try_claim(folder, lock.stem)
        if claim is None:
            return False
        claim.release()
    return True


# ------------------------------------------------------------ what a fault must leave


def assert_records_whole(folder: Path, damaged: Collection[Path] = ()) -> list[RunRecord]:
    """Every ``*.json`` in ``folder`` but the ``damaged`` ones the test made is a whole
    record; one per run_key; an ``ok`` record's per-item scores, samples and training log
    are there and read whole. Returns the records."""
    records = []
    for path in sorted(folder.glob("*.json")):
        if path not in damaged:
            record = RunRecord(**json.loads(path.read_text()))
            assert path.name == f"{record.run_id}.json"
            records.append(record)
    keys = [record.run_key for record in records]
    assert len(keys) == len(set(keys)), f"two records of one run_key: {sorted(keys)}"
    for record in records:
        files = [record.per_sample_file, record.samples_file]
        if record.status == "ok":
            assert None not in files and record.training_log, record.run_id
        for name in filter(None, files):
            with np.load(folder / name) as arrays:
                assert all(arrays[key].size for key in arrays.files), name
        if record.training_log:
            lines = (folder / record.training_log).read_text().splitlines()
            assert "train/loss" in lines[0].split(",") and len(lines) > 1, record.training_log
    return records


def assert_sound(folder: Path, damaged: Collection[Path] = ()) -> list[RunRecord]:
    """:func:`assert_records_whole`, and nothing visible (hidden: the staging and claims
    folders) lacks its record: no ``.npz`` file, log folder or other file but the sweep's
    plan and the folder's shared reference rows (``references/``, written by content, not
    staged: benchmark/results/records.py). Returns the records."""
    records = assert_records_whole(folder, damaged)
    owned = {"sweep-plan.jsonl", *(path.name for path in damaged)}
    logs = set()
    for record in records:
        owned.update(filter(None, [f"{record.run_id}.json", record.per_sample_file,
                                   record.samples_file, record.features_file]))
        if record.training_log:
            logs.add(Path(record.training_log).parent.name)
        for entry in (record.features or {}).values():
            assert (folder / entry["reference"]).is_file(), entry
    visible = {path.name for path in folder.iterdir() if not path.name.startswith(".")}
    assert visible - {"logs", REFERENCES_FOLDER} <= owned, \
        f"files without their record: {visible - owned}"
    log_folders = {path.name for path in (folder / "logs").glob("*")}
    assert log_folders <= logs, f"training logs without their record: {log_folders - logs}"
    return records


def assert_cleaned_up(folder: Path) -> None:
    """What the next command in ``folder`` does first (``prepare``) leaves no staging
    folder behind and no claim held."""
    prepare(folder)
    assert not list((folder / STAGING_FOLDER).glob("*"))
    assert claims_free(folder)


def snapshot(folder: Path, names: Sequence[str]) -> dict[str, bytes]:
    """``{relative path: bytes}`` of the files ``names`` (files, or folders: every file in
    them) under ``folder``."""
    files = {}
    for name in names:
        path = folder / name
        for file in (sorted(path.rglob("*")) if path.is_dir() else [path]):
            if file.is_file():
                files[file.relative_to(folder).as_posix()] = file.read_bytes()
    return files


def run_files(record: RunRecord) -> list[str]:
    """A record's file and the files it names, relative to its results folder."""
    return [f"{record.run_id}.json", record.per_sample_file, record.samples_file,
            str(Path(record.training_log).parent)]


def plant_completed_run(folder: Path) -> dict[str, bytes]:
    """Write into ``folder`` the record, per-item scores, samples and training log of a
    run finished before the fault (a seed no test runs), as a run writes them; returns
    their bytes, which the fault must leave as they are."""
    config = RunConfig("flowbind", TASK, seed=99, profile="smoke", steps=2)
    run_id = "20260101T000000-flowbind-image2text-tiny-s99-000000"
    log = folder / "logs" / run_id / "metrics.csv"
    log.parent.mkdir(parents=True)
    log.write_text("epoch,step,train/loss,train/samples\n0,0,1.5,256\n0,1,1.4,512\n")
    per_sample = write_per_sample(run_id, {"generated/text.attr_acc": np.ones(4)}, folder)
    samples = write_samples(run_id, {"source/image": np.zeros((2, 8, 8, 3), np.uint8),
                                     "generated/text": np.array(["a", "b"])}, folder)
    record = RunRecord(
        run_id=run_id, method="flowbind", task=TASK, dataset="scenes:smoke", preset="tiny",
        seed=99, status="ok", budget={"kind": "steps", "value": 2}, params={}, timing={},
        sampling={}, metrics={"text.attr_acc[judge:scenes-v1]": {"value": 1.0, "n": 4}},
        references={}, judges={}, config={"run": config.identity()}, provenance={},
        per_sample_file=per_sample.name, samples_file=samples.name, run_key=config.run_key(),
        training_log=log.relative_to(folder).as_posix())
    write_record(record, folder)
    return snapshot(folder, run_files(record))


def assert_unchanged(folder: Path, before: dict[str, bytes]) -> None:
    assert snapshot(folder, sorted(before)) == before


def summary_counts(stdout: Sequence[str]) -> tuple[int, ...]:
    """A sweep's closing line: (run, already done, failed, refused, running elsewhere)."""
    (match,) = SUMMARY.findall("\n".join(stdout))
    return tuple(map(int, match))


# ------------------------------------------------------------------------ kill -9 of a run


def test_kill_9_during_training_leaves_nothing_and_holds_no_claim(start, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    completed = plant_completed_run(folder)
    run = start(*RUN, "--steps", "100000", "--results", folder)  # trains for many minutes
    run.wait_for_stage("training")
    run.kill()

    assert [record.seed for record in assert_sound(folder)] == [99]  # the completed run
    assert len(list((folder / STAGING_FOLDER).glob("*"))) == 2  # its staging folder and lock
    assert claims_free(folder)  # the dead run holds no claim: the same run may start now
    assert_cleaned_up(folder)
    assert_unchanged(folder, completed)


@pytest.mark.slow  # a run up to its evaluation: about 20 s, more on a busy machine
def test_kill_9_during_evaluation_leaves_nothing(start, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    completed = plant_completed_run(folder)
    run = start(*RUN, "--steps", "2", "--results", folder)
    run.wait_for_stage("evaluating")
    run.kill()

    assert [record.seed for record in assert_sound(folder)] == [99]
    assert_cleaned_up(folder)
    assert_unchanged(folder, completed)


DIES_WHILE_PUBLISHING = """
import os, signal, sys
from benchmark.results import staging
from benchmark.cli import main

# call number sys.argv[1] of Staging.publish moves the record's files into the results
# folder, then the process is SIGKILLed where the record itself would follow
publish, calls = staging.Staging.publish, []
link = os.link

def link_or_die(source, target):
    if str(target).endswith(".json"):
        os.kill(os.getpid(), signal.SIGKILL)
    link(source, target)

def publish_then_die(self, record_file, files=()):
    calls.append(record_file)
    if len(calls) == int(sys.argv[1]):
        os.link = link_or_die
    return publish(self, record_file, files)

staging.Staging.publish = publish_then_die
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow  # one or two tasks' runs up to their records: 20 to 40 s
@pytest.mark.parametrize(("tasks", "killed_at"), [(TASK, 1), (f"{TASK},audio2text", 2)],
                         ids=["the-record", "the-second-record-of-a-suite"])
def test_kill_9_while_writing_the_files_leaves_only_complete_runs(start, tmp_path, tasks,
                                                                 killed_at):
    folder = tmp_path / "runs"
    folder.mkdir()
    completed = plant_completed_run(folder)
    run = start(killed_at, "run", "--method", "flowbind", "--task", tasks, "--protocol",
                "suite", "--steps", "2", "--results", folder, *SMOKE,
                code=DIES_WHILE_PUBLISHING)
    assert run.finish() == -signal.SIGKILL, run.error_text()

    # the records there are whole; the dying record's files were moved, its record not
    published = [record.task for record in assert_records_whole(folder) if record.seed == 0]
    assert published == ([TASK] if killed_at == 2 else [])
    records = {path.stem for path in folder.glob("*.json")}
    moved = [path.name for path in folder.glob("*.npz")
             if path.name.split(".")[0] not in records]
    assert len(moved) == 2, moved  # per-item scores and samples
    prepare(folder)  # what the next run, sweep or report does first
    records_left = assert_sound(folder)
    assert sorted(record.task for record in records_left if record.seed == 0) == published
    assert_cleaned_up(folder)
    assert_unchanged(folder, completed)


# ---------------------------------------------------------------------- kill -9 of a sweep


@pytest.mark.slow  # four or five runs: about 1.5 minutes, more on a busy machine
@pytest.mark.parametrize("killed", ["sweep", "sweep-and-its-run"])
def test_a_sweep_killed_midway_then_run_again_makes_only_the_missing_runs(start, tmp_path,
                                                                          killed):
    """``kill -9`` of the sweep alone leaves its run in flight to end on its own (it holds
    its claim until then); killing the process group takes that run too. Either way the
    same sweep again starts exactly the runs that have no record."""
    folder = tmp_path / "runs"
    first = start(*SWEEP, "--results", folder)
    wait_for(lambda: any(folder.glob("*.json")), "the sweep's first record")
    first.kill() if killed == "sweep" else first.kill_group()
    (done,) = assert_records_whole(folder)  # the second run was in flight
    completed = snapshot(folder, run_files(done))
    wait_for(lambda: claims_free(folder), "the run in flight to end")
    done_before = len(assert_records_whole(folder))

    again = start(*SWEEP, "--results", folder)
    assert again.finish() == exit_codes.OK, again.error_text()
    assert summary_counts(again.stdout) == (3 - done_before, done_before, 0, 0, 0)
    records = assert_sound(folder)
    assert sorted(record.seed for record in records) == [0, 1, 2]
    assert {record.status for record in records} == {"ok"}
    assert_cleaned_up(folder)
    assert_unchanged(folder, completed)


SWEEP_WHOSE_RUN_WAITS = """
import sys
from benchmark.sweep import local
from benchmark.cli import main

# the sweep starts its run as python -c RUN ...: the run writes the file sys.argv[1] when it
# is about to train, then waits for the sweep to die before it goes on
RUN = '''
import os, sys, time
from pathlib import Path
from benchmark.run import pipeline
from benchmark.cli import main

train, sweep = pipeline.train_method, os.getppid()

def train_once_the_sweep_is_dead(*args, **kwargs):
    Path(sys.argv[1]).write_text(str(os.getpid()))
    while os.getppid() == sweep:
        time.sleep(0.05)
    return train(*args, **kwargs)

pipeline.train_method = train_once_the_sweep_is_dead
sys.exit(main(sys.argv[2:]))
'''
command = local.run_command
local.run_command = lambda group: [sys.executable, "-c", RUN, sys.argv[1],
                                   *command(group)[3:]]
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow  # one run: about 20 s
def test_the_run_in_flight_of_a_sweep_killed_with_kill_9_still_writes_its_record(start,
                                                                                  tmp_path):
    """Before: the run's stderr was a pipe to the sweep, and the run's next line of output
    after the sweep died (``[anybench] training ...``) raised BrokenPipeError: the run was
    lost. Here the run waits for the sweep's death before it trains and prints on."""
    folder, waiting = tmp_path / "runs", tmp_path / "the-run-waits"
    sweep = start(waiting, *SWEEP, "--seeds", "0", "--results", folder,
                  code=SWEEP_WHOSE_RUN_WAITS)
    wait_for(waiting.exists, "the sweep's run to reach its training")
    sweep.kill()
    wait_for(lambda: claims_free(folder), "the run in flight to end")

    (record,) = assert_sound(folder)
    assert (record.seed, record.status) == (0, "ok"), record.error
    assert_cleaned_up(folder)


# --------------------------------------------------------------------------- concurrency


@pytest.mark.slow  # one run (its twin exits at once): about 20 s
def test_two_identical_runs_started_together_make_one_record(start, tmp_path):
    folder = tmp_path / "missing" / "runs"  # created by whichever starts first
    runs = [start(*RUN, "--steps", "2", "--results", folder) for _ in range(2)]
    codes = [run.finish() for run in runs]
    assert sorted(codes) == [exit_codes.OK, exit_codes.USER_ERROR], [r.stderr for r in runs]
    (refused,) = [run for run, code in zip(runs, codes, strict=True) if code]
    (line,) = refused.stderr
    assert "is being run by another process" in line and str(folder) in line
    (record,) = assert_sound(folder)
    assert record.status == "ok"
    assert_cleaned_up(folder)


@pytest.mark.slow  # three runs, two at a time: about 1.5 minutes
def test_two_identical_sweeps_started_together_make_each_run_once(start, tmp_path):
    folder = tmp_path / "runs"
    sweeps = [start(*SWEEP, "--results", folder) for _ in range(2)]
    for each in sweeps:
        assert each.finish() == exit_codes.OK, each.error_text()
    counts = [summary_counts(each.stdout) for each in sweeps]
    assert sum(count[0] for count in counts) == 3, counts  # each run made by one of them
    assert all(sum(count) == 3 and count[2] == 0 for count in counts), counts
    records = assert_sound(folder)
    assert sorted(record.seed for record in records) == [0, 1, 2]
    assert_cleaned_up(folder)


# ------------------------------------------------------------------------- damaged files


def test_a_truncated_record_is_named_and_only_its_run_made_again(tmp_path, monkeypatch,
                                                                 capsys):
    """Before: every later ``sweep`` crashed on it with JSONDecodeError. The sweep here
    starts a stand-in for each run (a process that does nothing)."""
    folder = tmp_path / "runs"
    folder.mkdir()
    completed = plant_completed_run(folder)
    (planted,) = folder.glob("*.json")
    truncated = folder / "20260102T000000-flowbind-image2text-tiny-s0-000000.json"
    truncated.write_text(planted.read_text()[:300])  # a record of seed 0, cut short
    started = []
    monkeypatch.setattr(local, "run_command", lambda group: started.append(group[0].seed) or [
        sys.executable, "-c", "pass"])

    code = main([*SWEEP, "--seeds", "0,99", "--results", str(folder)])
    out, err = capsys.readouterr()
    assert code == exit_codes.OK, err
    assert started == [0]  # seed 99 is done; seed 0's record is unreadable: made again
    assert summary_counts(out.splitlines()) == (1, 1, 0, 0, 0)
    assert f"warning: unreadable record {truncated} (not JSON: " in err
    assert "Traceback" not in err
    assert truncated.read_text() == planted.read_text()[:300]  # left as it was
    assert [record.seed for record in assert_sound(folder, damaged=[truncated])] == [99]
    assert_unchanged(folder, completed)


@pytest.mark.slow  # two runs and the rebuild of what was damaged: about a minute
def test_damaged_cache_files_are_named_and_rebuilt_and_the_run_succeeds(start, smoke_env,
                                                                        tmp_path):
    """Before: torch's, numpy's or pickle's own traceback, the file kept, the run lost
    (reference rows: after training). In a copy of the smoke caches: a judge, an
    embeddings file, a dataset array and the reference rows a first run made are cut to
    half their length; the same run again names each once, rebuilds it byte for byte and
    writes its record."""
    cache = tmp_path / "cache"
    shutil.copytree(smoke_env["ANYBENCH_CACHE"], cache)
    env = {**smoke_env, "ANYBENCH_CACHE": str(cache)}
    shutil.rmtree(cache / "reference_rows", ignore_errors=True)  # other tests' runs made some
    first = start(*RUN, "--steps", "2", "--results", tmp_path / "first", env=env)
    assert first.finish() == exit_codes.OK, first.error_text()
    rows = sorted(cache.glob("reference_rows/*"))
    assert rows
    damaged = [*rows, sorted(cache.glob("judges/text-*.pt"))[0],
               sorted(cache.glob("embeddings/*.pt"))[0],
               sorted(cache.glob("datasets/scenes-*/test/images.npy"))[0]]
    originals = {path: path.read_bytes() for path in damaged}
    for path, content in originals.items():
        path.write_bytes(content[: len(content) // 2])

    folder = tmp_path / "again"
    again = start(*RUN, "--steps", "2", "--results", folder, env=env)
    assert again.finish() == exit_codes.OK, again.error_text()
    named = [line for line in again.stderr if "is unreadable" in line]
    for path in damaged:
        assert len([line for line in named if line.startswith(f"cache file {path}")]) == 1, named
    assert len(named) == len(damaged), named
    assert "Traceback" not in "\n".join(again.stderr)
    for path, content in originals.items():
        assert path.read_bytes() == content, path
    (record,) = assert_sound(folder)
    assert record.status == "ok"


# -------------------------------------------------------------------- the results folder


def _unusable_folders(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Results paths that cannot be used, with what the error must say (tests run as root,
    whom file modes do not stop: the kernel's own folders stand in for read-only ones)."""
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder")
    return {
        "a-file": (a_file, "is a file, not a folder"),
        "under-a-file": (a_file / "runs", "cannot create the results folder"),
        "not-creatable": (Path("/proc/anybench-results"), "cannot create the results folder"),
        "read-only": (Path("/sys/kernel"), "cannot write in the results folder"),
    }


@pytest.mark.parametrize("command", [RUN, SWEEP], ids=["run", "sweep"])
@pytest.mark.parametrize("kind", ["a-file", "under-a-file", "not-creatable", "read-only"])
def test_an_unusable_results_folder_is_one_line_and_exit_2_before_any_work(
        command, kind, tmp_path, monkeypatch, capsys):
    """Before: a traceback after training and evaluation, the run lost."""
    path, problem = _unusable_folders(tmp_path)[kind]
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("ANYBENCH_CACHE", str(cache))
    code = main([*command, "--results", str(path)])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == exit_codes.USER_ERROR
    assert line.startswith(f"python -m benchmark: error: --results {path} {problem}"
                           if kind == "a-file" else f"python -m benchmark: error: {problem} {path}")
    assert list(cache.iterdir()) == []  # nothing was built
    assert (tmp_path / "results.txt").read_text() == "not a folder"  # left as it was


def test_a_missing_results_folder_is_created(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "missing" / "runs"
    monkeypatch.setattr(local, "run_command", lambda group: [sys.executable, "-c", "pass"])
    assert main([*SWEEP, "--seeds", "0", "--results", str(folder)]) == exit_codes.OK
    assert summary_counts(capsys.readouterr().out.splitlines()) == (1, 0, 0, 0, 0)
    assert folder.is_dir() and assert_sound(folder) == []


# ---------------------------------------------------------------------- NaN in training


def test_a_nan_training_loss_gives_a_failed_record_saying_so_and_exit_3(start, tmp_path):
    """Before: the run trained on with NaN weights, and its scoring died in a matrix square
    root (exit 1, no record)."""
    method = PLUGINS / "turns_nan.py"
    folder = tmp_path / "runs"
    folder.mkdir()
    completed = plant_completed_run(folder)
    run = start("run", "--method", f"{method}:TurnsNan", "--task", TASK, "--results", folder,
                *SMOKE)
    assert run.finish() == exit_codes.RUN_FAILED, run.error_text()
    records = assert_sound(folder)
    (failed,) = [record for record in records if record.seed != 99]
    assert failed.status == "failed" and failed.method == f"{method}:TurnsNan"
    assert failed.error.splitlines()[-1] == (
        "benchmark.core.errors.NonFiniteOutput: turns_nan's training loss became nan at step 1: "
        "the run failed")
    assert f"the run failed: failed record {folder / (failed.run_id + '.json')}" in run.stderr
    assert_cleaned_up(folder)
    assert_unchanged(folder, completed)

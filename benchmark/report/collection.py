"""The run records a report is made from, and what is missing from them.

A report reads only RunRecords (benchmark/results/records.py) and the plan sweeps leave beside
them (benchmark/results/sweep_plan.py). The runs it expects, for each (protocol, budget, profile,
evaluator) setting, are the grid spanned by what it finds (every method x task x seed
that appears anywhere in the folder) plus every run a sweep planned there. An expected
run without an ``ok`` record is missing; a failed record says why.

The folder is read as one record per run (benchmark/results/folder.py): unreadable
records, ignored duplicates of a run and unreadable samples files are listed among the
report's problems instead of stopping it or counting twice.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.core.errors import UserError
from benchmark.results.folder import read_runs
from benchmark.results.records import RunRecord, read_samples
from benchmark.results.staging import clean_abandoned
from benchmark.results.sweep_plan import planned_runs


@dataclass
class Collection:
    """The ``ok`` records (one per run), the failed runs, the files skipped (one line
    each: unreadable records, ignored duplicates, unreadable samples files), and the
    grid's holes."""

    records: list[RunRecord]
    failed: list[RunRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """One line per thing a reader of the report should know is not in it."""
        lines = [f"missing: {name}" for name in self.missing]
        lines += [f"failed: {r.method} {r.task} seed {r.seed}: "
                  f"{(r.error or '').strip().splitlines()[-1:] or ['(no error text)']}"
                  for r in self.failed]
        return lines + self.skipped


def dataset_identity(record: RunRecord) -> str:
    """Which data a record was measured on: the dataset's name and settings, and for data
    read from a folder its content hash (the same path may hold other data later);
    ``scenes`` for schema-2 records, which had no other dataset."""
    dataset = record.config.get("dataset")
    if dataset is None:
        return "scenes"
    settings = dataset.get("settings", {})
    if "path" in settings:
        return f"{dataset['name']} {settings['path']} (content {dataset.get('key', '?')})"
    shown = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
    return f"{dataset['name']} ({shown})"


def setting(record: RunRecord) -> str:
    """The settings that must agree for runs to share a table (budget, protocol, ...)."""
    return setting_of(record.config.get("run", {}), record.protocol)


def setting_of(run: dict, protocol: str) -> str:
    """``setting`` from a run's configuration (a record's ``config["run"]`` or a plan line)."""
    budget = run.get("budget") or (f"steps={run['steps']}" if run.get("steps") else
                                   "method default")
    return (f"profile {run.get('profile', '?')}, protocol {protocol}, budget {budget}, "
            f"evaluator {run.get('evaluator', '?')}")


def load_collection(results_dir: Path) -> Collection:
    """Read every record in ``results_dir``; a folder with no ``ok`` record is a UserError
    that says how to make some."""
    if not results_dir.is_dir():
        raise UserError(f"no results folder at {results_dir}: run `python -m benchmark sweep "
                        f"--results {results_dir}` (or `run`) first")
    with contextlib.suppress(OSError):  # a folder this reader cannot write: left as it is
        clean_abandoned(results_dir)
    runs = read_runs(results_dir)
    ok, failed = runs.records, [stored.record for stored in runs.failed]
    skipped = [f"unreadable record: {path.name} ({why})" for path, why in runs.unreadable]
    skipped += [f"ignored duplicates: {line}" for line in runs.duplicate_warnings()]
    skipped += [f"unreadable samples file: {record.samples_file}" for record in ok
                if not samples_readable(results_dir, record)]
    if not ok:
        found = f"{len(failed)} failed and {len(runs.unreadable)} unreadable" if failed or \
            runs.unreadable else "no"
        raise UserError(f"{results_dir} holds {found} run records and none that succeeded: "
                        f"run `python -m benchmark sweep --results {results_dir}` first")
    datasets = sorted({dataset_identity(record) for record in ok})
    if len(datasets) > 1:
        raise UserError(f"{results_dir} holds runs on {len(datasets)} datasets "
                        f"({'; '.join(datasets)}): a table compares methods on one dataset, so "
                        "give each dataset's runs their own --results folder")
    collection = Collection(ok, failed, skipped)
    collection.missing = _missing(ok, planned_runs(results_dir))
    return collection


def _missing(records: list[RunRecord], planned: Sequence[dict]) -> list[str]:
    present: dict[str, set[tuple]] = {}
    for record in records:
        present.setdefault(setting(record), set()).add((record.method, record.task,
                                                        record.seed))
    expected = {name: set(itertools.product(*(sorted({key[i] for key in keys})
                                              for i in range(3))))
                for name, keys in present.items()}
    for run in planned:
        expected.setdefault(setting_of(run, run.get("protocol", "task")), set()).add(
            (run["method"], run["task"], int(run["seed"])))
    return [f"{method} {task} seed {seed} ({name})"
            for name in sorted(expected)
            for method, task, seed in sorted(expected[name])
            if (method, task, seed) not in present.get(name, set())]


def samples_readable(results_dir: Path, record: RunRecord) -> bool:
    """Whether ``record``'s gallery samples file can be read whole (True when it names
    none, or the file is absent: that is a run without samples, not a damaged file)."""
    path = results_dir / record.samples_file if record.samples_file else None
    return path is None or not path.exists() or read_samples(path) is not None

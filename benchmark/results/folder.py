"""The results folder: made ready before any work, and read back as one record per run.

:func:`prepare` is what ``run``, ``sweep`` and ``check`` do first: create the folder,
write and remove a test file in it (a path that is a file, or a folder that cannot be
written, is a one-line UserError before any data or training work), and clean up what
killed runs left there (benchmark/results/staging.py).

:func:`read_runs` is how every reader (``report``, ``check``, the sweep's resume and
summary) reads a folder. A file that is not a readable record is skipped and named. Of
several records with the same ``run_key`` (two identical runs started together before
claims existed, a copied file, a run that failed and was re-run) ONE is kept:

- an ``ok`` record is preferred over a ``failed`` one;
- among records of the same status the newest is kept (``run_id`` starts with its
  time; ties are broken by file name).

A kept ``ok`` record makes the run's ``failed`` records history: they stay on disk but
are not listed as failed (an older ``failed`` record behind a newer one likewise). Other
``ok`` records of the same run are duplicates that would count as extra seeds: they are
ignored and named in a warning. Records without a ``run_key`` (written before it
existed) are each a run of their own.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.core.errors import UserError
from benchmark.results.records import RunRecord
from benchmark.results.staging import clean_abandoned


def prepare(folder: Path) -> None:
    """Create ``folder`` and test-write a file in it, then clean up abandoned staging
    folders; a one-line UserError naming the folder and the fix when it cannot be used."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--results {folder} is a file, not a folder: give the path of a "
                        "folder (it is created if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create the results folder {folder} ({error.strerror}): give "
                        "--results a folder you can write to") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        try:
            os.write(fd, b"anybench\n")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as error:
        raise UserError(f"cannot write in the results folder {folder} ({error.strerror}): give "
                        "--results a folder you can write to, or make this one writable") \
            from None
    clean_abandoned(folder)


@dataclass(frozen=True)
class StoredRecord:
    """A record and the file it was read from."""

    path: Path
    record: RunRecord


@dataclass
class FolderRuns:
    """One record per run of a results folder (see the module doc for which).

    ``ok``: the kept ``ok`` records; ``failed``: the kept ``failed`` records of runs that
    have no ``ok`` one; ``duplicates``: for each run with ignored ``ok`` records, the kept
    file and the ignored ones; ``unreadable``: files that are not readable records, with
    why.
    """

    ok: list[StoredRecord] = field(default_factory=list)
    failed: list[StoredRecord] = field(default_factory=list)
    duplicates: list[tuple[StoredRecord, list[StoredRecord]]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def records(self) -> list[RunRecord]:
        """The kept ``ok`` records."""
        return [stored.record for stored in self.ok]

    def warnings(self) -> list[str]:
        """One line per file a reader skipped: unreadable records, then ignored
        duplicates."""
        return [f"unreadable record {path} ({why}): skipped" for path, why in self.unreadable
                ] + self.duplicate_warnings()

    def duplicate_warnings(self) -> list[str]:
        """One line per run with ignored ``ok`` records, naming the kept and ignored files."""
        lines = []
        for kept, ignored in self.duplicates:
            record = kept.record
            lines.append(f"{len(ignored) + 1} records of one run ({record.method} "
                         f"{record.task} seed {record.seed}, run_key {record.run_key}): kept "
                         f"{kept.path.name}, ignored {', '.join(s.path.name for s in ignored)}")
        return lines


def read_runs(folder: Path) -> FolderRuns:
    """Every record in ``folder`` (its ``*.json`` files), one per run."""
    stored, unreadable = [], []
    for path in sorted(folder.glob("*.json")):
        record, why = _read(path)
        if record is None:
            unreadable.append((path, why))
        else:
            stored.append(StoredRecord(path, record))
    runs = select(stored)
    runs.unreadable = unreadable
    return runs


def select(stored: Iterable[StoredRecord]) -> FolderRuns:
    """One record per ``run_key`` (the module doc's rule), in file-name order."""
    groups: dict[str, list[StoredRecord]] = {}
    for item in stored:
        groups.setdefault(item.record.run_key or f"file {item.path}", []).append(item)
    runs = FolderRuns()
    for group in groups.values():
        kept = max(group, key=lambda s: (s.record.status == "ok", s.record.run_id, s.path.name))
        if kept.record.status != "ok":
            runs.failed.append(kept)
            continue
        runs.ok.append(kept)
        ignored = [s for s in group if s is not kept and s.record.status == "ok"]
        if ignored:
            runs.duplicates.append((kept, sorted(ignored, key=lambda s: s.path.name)))
    runs.ok.sort(key=lambda s: s.path.name)
    runs.failed.sort(key=lambda s: s.path.name)
    return runs


def print_warnings(runs: FolderRuns) -> None:
    """Each of ``runs``' warnings on stderr, one line each."""
    for line in runs.warnings():
        print(f"warning: {line}", file=sys.stderr)


def ok_run_keys(folders: Sequence[Path]) -> set[str]:
    """``run_key`` of every ``ok`` record in ``folders`` (unreadable files count as not
    done)."""
    return {stored.record.run_key for folder in folders for stored in read_runs(folder).ok
            if stored.record.run_key}


def _read(path: Path) -> tuple[RunRecord | None, str]:
    """The record in ``path``, or None and why it cannot be read."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        return None, error.strerror or type(error).__name__
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        return None, f"not JSON: {str(error).splitlines()[0]}"
    if not isinstance(data, dict):
        return None, "not a run record"
    try:
        return RunRecord(**data), ""
    except TypeError:
        return None, "not a run record (unknown or missing fields)"

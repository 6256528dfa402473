"""Staged writes: a run's files appear in its results folder complete, record last, or not
at all.

A run writes everything it produces (per-item scores, gallery samples, its training log
folder, its records) into ``<results>/.staging/<name>/``. Its owner holds an exclusive
``flock`` on ``<results>/.staging/<name>.lock`` for as long as it works there (taken
before the folder is made, dropped after the folder is removed). Publishing a record:

1. ``manifest.json`` in the staging folder (rewritten atomically) gains an entry: the
   record's file name and the names of the files that go with it;
2. those files move into the results folder (a hard link for a file, a rename for a
   folder; neither replaces an existing name), the record LAST.

When the owner is done (or fails), :meth:`Staging.close` applies the rule below to its own
folder. A record in the results folder therefore always finds its files, and a process
killed at any point leaves nothing a reader sees except complete runs. The next run, sweep
or report in that folder cleans up what a killed one left (:func:`clean_abandoned`): a
staging folder whose lock is free has a dead owner. For each manifest entry whose record
never reached the results folder, the files already moved for it are deleted; then the
staging folder goes. A staging folder whose owner is alive is never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from benchmark.core.cache import atomic_path

STAGING_FOLDER = ".staging"
MANIFEST = "manifest.json"


class Staging:
    """A staging folder this process owns (see the module doc); make it with
    :func:`staging`."""

    def __init__(self, results_dir: Path, name: str) -> None:
        self.results_dir = results_dir
        self.folder = results_dir / STAGING_FOLDER / name
        self._lock_fd = _lock_owned(_lock_path(self.folder))
        self.folder.mkdir()
        self._entries: list[dict] = []

    def publish(self, record_file: str, files: Sequence[str] = ()) -> Path:
        """Move ``files`` (paths relative to the staging folder: files or folders) and then
        ``record_file`` to the same paths in the results folder; returns the record's path.
        Raises FileExistsError, moving nothing more, if a name is taken there."""
        names = [*files, record_file]
        absent = [name for name in names if not (self.folder / name).exists()]
        if absent:
            raise FileNotFoundError(f"not staged in {self.folder}: {', '.join(absent)}")
        self._entries.append({"record": record_file, "files": list(files)})
        with atomic_path(self.folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps({"entries": self._entries}, indent=1) + "\n")
        for name in names:
            staged, final = self.folder / name, self.results_dir / name
            final.parent.mkdir(parents=True, exist_ok=True)
            if staged.is_dir():
                if final.exists():
                    raise FileExistsError(f"{final} exists already")
                staged.rename(final)
            else:
                os.link(staged, final)
        return self.results_dir / record_file

    def close(self) -> None:
        """Remove the staging folder, and the files of any record it did not publish."""
        try:
            _discard(self.folder, self.results_dir)
        finally:
            _lock_path(self.folder).unlink(missing_ok=True)
            os.close(self._lock_fd)


@contextmanager
def staging(results_dir: Path, name: str) -> Iterator[Staging]:
    """A staging folder ``name`` in ``results_dir`` for the ``with`` block; removed at its
    end, taking with it whatever was not published."""
    area = Staging(results_dir, name)
    try:
        yield area
    finally:
        area.close()


def clean_abandoned(results_dir: Path) -> list[str]:
    """Clean up every staging folder in ``results_dir`` whose owner is dead (the module
    doc says how); returns their names. Folders of live owners are left alone."""
    root = results_dir / STAGING_FOLDER
    if not root.is_dir():
        return []
    names = {path.name.removesuffix(".lock") for path in root.iterdir()}
    cleaned = []
    for name in sorted(names):
        folder = root / name
        lock = _lock_path(folder)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its owner is alive
            if not _is_file_of(fd, lock):
                continue  # another cleaner took it meanwhile
            _discard(folder, results_dir)
            lock.unlink(missing_ok=True)
            cleaned.append(name)
        finally:
            os.close(fd)
    return cleaned


def _lock_path(folder: Path) -> Path:
    return folder.with_name(f"{folder.name}.lock")


def _lock_owned(lock: Path) -> int:
    """Create and lock the owner's lock file; waits while a cleaner holds it, and retries
    when a cleaner removed it meanwhile (the lock must be on the file at ``lock``)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _is_file_of(fd, lock):
            return fd
        os.close(fd)


def _is_file_of(fd: int, path: Path) -> bool:
    """Whether the open descriptor ``fd`` is the file now at ``path``."""
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _discard(folder: Path, results_dir: Path) -> None:
    """Delete from ``results_dir`` the moved files of every manifest entry of ``folder``
    whose record is not there, then the staging folder itself. A name counts as moved by
    this staging folder when it is the staged file (a hard link of it) or, for a folder
    (renamed, so no longer staged), when the staged one is gone."""
    try:
        entries = json.loads((folder / MANIFEST).read_text())["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        entries = []  # no manifest: nothing was moved
    for entry in entries:
        if (results_dir / entry["record"]).exists():
            continue
        for name in [*entry["files"], entry["record"]]:
            staged, final = folder / name, results_dir / name
            if not final.exists():
                continue
            if final.is_dir() and not staged.exists():
                shutil.rmtree(final)
            elif staged.exists() and final.samefile(staged):
                final.unlink()
    shutil.rmtree(folder, ignore_errors=True)

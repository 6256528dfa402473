"""Claims on run keys: one process at a time produces the records of a ``run_key`` in a
results folder.

A claim is an exclusive, non-blocking ``flock`` on ``<results>/.claims/<run_key>.lock``,
held by the process that makes the run for as long as it works on it. The kernel drops
the lock when that process ends, however it ends, so a dead process never holds a claim.
The file holds the pid of its holder, for the message of whoever finds the claim taken.
Lock files are never deleted: removing one while another process has it open would let
two processes hold "the same" claim on two different files.

``run`` claims every run key it will write before any work (benchmark/cli/run.py). A
sweep claims each run before it starts that run's process and hands the claim down: the
locked file stays open in the child (``pass_fds``), named in the child's environment
(:data:`INHERITED_ENV`, see :func:`handed_down`), and the child's own claim adopts it. A
run a sweep started therefore holds its claim even if the sweep is killed, and two sweeps
never both start the same run.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmark.core.errors import UserError

CLAIMS_FOLDER = ".claims"

INHERITED_ENV = "ANYBENCH_INHERITED_CLAIMS"
"""``run_key=fd,...``: claims a parent process (a sweep) took and left open in this one."""


class RunKeyBusy(UserError):
    """Another live process holds the claim on a run key."""

    def __init__(self, run_key: str, label: str, folder: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(f"run_key {run_key} ({label}) is being run by another process "
                         f"({holder}) in {folder}; wait for it or use another --results")


@dataclass(frozen=True)
class Claim:
    """A held claim: the open, locked file descriptor of ``path``."""

    run_key: str
    path: Path
    fd: int

    def release(self) -> None:
        """Close the lock file. The lock ends with the last descriptor of it, so a claim
        this process handed down to a run it started stays held by that run."""
        os.close(self.fd)


def claim_path(folder: Path, run_key: str) -> Path:
    return folder / CLAIMS_FOLDER / f"{run_key}.lock"


def try_claim(folder: Path, run_key: str) -> Claim | None:
    """Claim ``run_key`` in results folder ``folder``; None when another process holds it.
    A claim handed down by a parent process (:data:`INHERITED_ENV`) is adopted."""
    path = claim_path(folder, run_key)
    inherited = _inherited(path, run_key)
    if inherited is not None:
        fd = inherited
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return Claim(run_key, path, fd)


def holder_pid(folder: Path, run_key: str) -> int | None:
    """The pid the claim file of ``run_key`` names (None: no file, or not written yet)."""
    try:
        return int(claim_path(folder, run_key).read_text().strip())
    except (OSError, ValueError):
        return None


@contextmanager
def claimed(folder: Path, labels: Mapping[str, str]) -> Iterator[list[Claim]]:
    """Hold the claims of every run key in ``labels`` (run key -> what the run is, for the
    message) for the ``with`` block; :class:`RunKeyBusy` (a UserError) when another process
    holds one of them, with none of them kept."""
    claims: list[Claim] = []
    try:
        for run_key, label in labels.items():
            claim = try_claim(folder, run_key)
            if claim is None:
                raise RunKeyBusy(run_key, label, folder, holder_pid(folder, run_key))
            claims.append(claim)
        yield claims
    finally:
        for claim in claims:
            claim.release()


def handed_down(claims: Sequence[Claim]) -> dict[str, str]:
    """The environment entry that lets a child process adopt ``claims`` (their descriptors
    must also be passed to it, ``pass_fds``)."""
    return {INHERITED_ENV: ",".join(f"{claim.run_key}={claim.fd}" for claim in claims)}


def _inherited(path: Path, run_key: str) -> int | None:
    """The descriptor a parent handed down for ``run_key``, if it is open here and is the
    lock file at ``path`` (anything else is ignored)."""
    for entry in os.environ.get(INHERITED_ENV, "").split(","):
        key, _, fd_text = entry.partition("=")
        if key != run_key or not fd_text.isdigit():
            continue
        fd = int(fd_text)
        try:
            held, on_disk = os.fstat(fd), path.stat()
        except OSError:
            return None
        if (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino):
            return fd
    return None

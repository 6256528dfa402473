"""Where cached artifacts live, how their keys are made, and how they are written and read.

A cache key hashes *everything* that changes the cached content (configs, seeds, the
version string of the stage that produced it), so changing any setting can never
silently reuse stale features or weights.

Files are written whole (:func:`atomic_path`) with the permissions a plain ``open(path,
"w")`` would give them under the process's umask, so a group sharing a cache or results
folder can read them. A cache file that cannot be read (truncated, corrupt, the wrong
format) is reported on one line naming it, removed and built again
(:func:`load_or_build`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from benchmark.core.errors import UserError
from benchmark.core.threads import CACHE_BUILD_THREADS, torch_threads

T = TypeVar("T")

CACHE_ENV = "ANYBENCH_CACHE"

UNREADABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError, EOFError, ValueError, RuntimeError, KeyError, IndexError, TypeError,
    zipfile.BadZipFile, pickle.UnpicklingError,
)
"""What reading or parsing a damaged file raises: I/O errors, truncated data (EOFError,
numpy's and json's ValueError, torch's RuntimeError, zipfile's BadZipFile, the
unpickler's errors) and a parsed file without the expected content (KeyError, IndexError,
TypeError, a state dict that does not fit its module)."""


def _read_umask() -> int:
    """The process's umask: from ``/proc/self/status`` where the kernel reports it, which
    leaves it untouched; elsewhere by setting it and putting it back, which is safe here
    because this runs once, when the module is imported, before any thread writes a file."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


FILE_MODE = 0o666 & ~_read_umask()
"""The permission bits of every file written through :func:`atomic_path`: those a plain
``open(path, "w")`` gives a new file under the umask the process started with."""


class UnreadablePart(Exception):
    """One file of a multi-file artifact could not be read (see :func:`read_part`)."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        super().__init__(f"{path}: {_describe(cause)}")
        self.path = path
        self.cause = cause


def cache_root() -> Path:
    """``$ANYBENCH_CACHE`` if set, else ``.cache/anybench`` under the working directory."""
    return Path(os.environ.get(CACHE_ENV, Path.cwd() / ".cache" / "anybench"))


def config_hash(*parts: Any, length: int = 12) -> str:
    """A short stable hash of dataclasses, dicts and plain values (JSON-canonicalized)."""
    plain = [asdict(p) if is_dataclass(p) and not isinstance(p, type) else p for p in parts]
    blob = json.dumps(plain, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def scratch_folder(final: Path) -> Path:
    """A new, empty folder beside ``final`` (``.<name>.<random>.tmp``) to build a folder in
    before it is renamed into place: made with the permissions the umask gives a plain
    ``mkdir`` (unlike :func:`tempfile.mkdtemp`'s 0700), so the published folder is as
    readable as the files in it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = final.parent / f".{final.name}.{uuid.uuid4().hex[:12]}.tmp"
    scratch.mkdir()
    return scratch


@contextmanager
def atomic_path(final: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; move it into place only on success.

    A crash or interrupt leaves ``final`` untouched (either absent or the old content).
    The file gets :data:`FILE_MODE` (the temporary file starts private). With
    ``overwrite=False`` the file is hard-linked into place, which raises
    ``FileExistsError`` rather than replace an existing ``final``.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        if overwrite:
            os.replace(tmp, final)
        else:
            os.link(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def read_part(path: Path, read: Callable[[Path], T]) -> T:
    """``read(path)`` for one file of a multi-file artifact; when that file cannot be read
    (:data:`UNREADABLE_ERRORS`) raise :class:`UnreadablePart` naming it, which
    :func:`load_or_build` reports before it rebuilds the artifact."""
    try:
        return read(path)
    except UNREADABLE_ERRORS as error:
        raise UnreadablePart(path, error) from error


def load_or_build(
    path: Path,
    build: Callable[[], T],
    *,
    save: Callable[[T, Path], None],
    load: Callable[[Path], T],
) -> T:
    """``load(path)`` when ``path`` exists, else ``build()``, saved atomically to ``path``.

    ``path`` must be named by a content key (:func:`config_hash` of everything that
    changes what ``build`` returns), so an existing file is always the right one.
    ``save(value, tmp)`` writes to a temporary file beside ``path`` that is moved into
    place only when it returns; a crash leaves no file, and the next call builds again.
    For artifacts made of several files, ``path`` is the completion marker written last,
    ``save`` replaces the other files whole, and ``load`` reads each of them with
    :func:`read_part`.

    ``load`` must read every byte it returns (a memory map must at least check the file's
    size), so a damaged file fails here: one line on stderr names it and what was wrong,
    ``path`` is removed and the artifact built and saved again. The rebuilt file is then
    loaded once more; if that fails too, the loader cannot read what the saver writes,
    which is a bug, and a RuntimeError says so.
    """
    rebuilding = path.exists()
    if rebuilding:
        try:
            return load(path)
        except (UnreadablePart, *UNREADABLE_ERRORS) as error:
            _report_and_remove(path, error)
    with torch_threads(CACHE_BUILD_THREADS):  # the same bytes whoever builds it
        value = build()
    with atomic_path(path) as tmp:
        save(value, tmp)
    if rebuilding:
        try:
            load(path)
        except (UnreadablePart, *UNREADABLE_ERRORS) as error:
            raise RuntimeError(f"cache file {path} was rebuilt but still cannot be read "
                               f"({_describe(error)}): its loader does not read what its "
                               "saver writes") from error
    return value


def _report_and_remove(path: Path, error: BaseException) -> None:
    """Say on stderr which cache file is unreadable and why, then remove ``path`` (a
    UserError when it cannot be removed)."""
    if isinstance(error, UnreadablePart):
        part_of = "" if error.path == path else f" (part of {path})"
        subject, why = f"{error.path}{part_of}", _describe(error.cause)
    else:
        subject, why = str(path), _describe(error)
    print(f"cache file {subject} is unreadable ({why}): rebuilding it", file=sys.stderr,
          flush=True)
    try:
        path.unlink(missing_ok=True)
    except OSError as removal:
        raise UserError(f"cache file {subject} is unreadable ({why}) and cannot be removed "
                        f"({removal.strerror}): delete {path} or set {CACHE_ENV} to another "
                        "folder") from error


def _describe(error: BaseException) -> str:
    """The error's type and the first line of its message (at most 160 characters)."""
    lines = str(error).strip().splitlines()
    message = lines[0] if lines else ""
    message = message if len(message) <= 160 else message[:157] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__

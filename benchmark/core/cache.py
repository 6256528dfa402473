"""Where cached artifacts live and how their keys are made.

A cache key hashes *everything* that changes the cached content (configs, seeds, the
version string of the stage that produced it), so changing any setting can never
silently reuse stale features or weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CACHE_ENV = "ANYBENCH_CACHE"


def cache_root() -> Path:
    """``$ANYBENCH_CACHE`` if set, else ``.cache/anybench`` under the working directory."""
    return Path(os.environ.get(CACHE_ENV, Path.cwd() / ".cache" / "anybench"))


def config_hash(*parts: Any, length: int = 12) -> str:
    """A short stable hash of dataclasses, dicts and plain values (JSON-canonicalized)."""
    plain = [asdict(p) if is_dataclass(p) and not isinstance(p, type) else p for p in parts]
    blob = json.dumps(plain, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


@contextmanager
def atomic_path(final: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; move it into place only on success.

    A crash or interrupt leaves ``final`` untouched (either absent or the old content).
    With ``overwrite=False`` the file is hard-linked into place, which raises
    ``FileExistsError`` rather than replace an existing ``final``.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if overwrite:
            os.replace(tmp, final)
        else:
            os.link(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


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
    For artifacts made of several files, ``path`` is the completion marker written last.
    """
    if path.exists():
        return load(path)
    value = build()
    with atomic_path(path) as tmp:
        save(value, tmp)
    return value

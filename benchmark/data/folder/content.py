"""The content key of a media folder: a hash of the manifest, every file it references, and
the settings that shape the loaded arrays.

``key = blake2b_64(json(settings) | manifest bytes | for each referenced path p, sorted:
p | blake2b_128(bytes of p))``, as 16 hex digits. Only paths relative to the folder enter
it, so the same folder copied elsewhere has the same key; changing any byte of the
manifest or of a referenced file, or a setting, changes it. Files are read on a thread pool
(hashing and reading release the GIL).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePath
from typing import Any

from benchmark.data.folder.problems import MISSING, OUTSIDE, raise_first
from benchmark.data.manifest import Manifest

_HASH_THREADS = 8


def media_files(manifest: Manifest) -> dict[str, list[int]]:
    """Every image and audio path the manifest names -> the lines that name it; raises
    :class:`~benchmark.data.manifest.BadData` for a path that is absolute or climbs out of
    the folder with ``..`` (symbolic links inside the folder are followed, wherever they
    point)."""
    lines: dict[str, list[int]] = defaultdict(list)
    problems: dict[str, list[int]] = defaultdict(list)
    for item in manifest.items:
        for modality in ("image", "audio"):
            if item.has(modality):
                path = str(item.media[modality])
                pure = PurePath(path)
                if pure.is_absolute() or ".." in pure.parts:
                    problems[OUTSIDE].append(item.line)
                lines[path].append(item.line)
    raise_first(manifest.path, problems)
    return dict(lines)


def content_key(folder: Path, manifest: Manifest, settings: dict[str, Any]) -> str:
    """The key of the module docstring; raises :class:`~benchmark.data.manifest.BadData`
    for referenced files that are missing (every line that names one)."""
    files = media_files(manifest)
    paths = sorted(files)
    with ThreadPoolExecutor(_HASH_THREADS) as pool:
        digests = list(pool.map(lambda p: _file_digest(folder / p), paths))
    missing = [line for path, digest in zip(paths, digests, strict=True) if digest is None
               for line in files[path]]
    raise_first(manifest.path, {MISSING: missing} if missing else {})
    key = hashlib.blake2b(digest_size=8)
    key.update(json.dumps(settings, sort_keys=True).encode())
    key.update(manifest.path.read_bytes())
    for path, digest in zip(paths, digests, strict=True):
        key.update(path.encode() + b"\0" + digest)
    return key.hexdigest()


def _file_digest(path: Path) -> bytes | None:
    """``blake2b_128`` of the file's bytes; ``None`` when it is not a readable file."""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None

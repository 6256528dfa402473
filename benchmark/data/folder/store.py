"""A decoded media-folder split on disk: one folder of ``.npy`` arrays and ``captions.json``.

Files: ``attributes.npy`` (int64 [N, A]), ``present.npy`` (bool [N, 3]), ``images.npy``
(uint8 [N, H, W, 3]), ``audio.npy`` (float32 [N, S], stored as is so that loading is exact),
``item_lines.npy`` (int64 [N], manifest line numbers) and ``captions.json`` (a JSON list of
N strings). Each file is written atomically; the label columns and sample rate are kept by
the caller (they are the same for both splits).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmark.core.cache import atomic_path, read_part
from benchmark.core.media_split import MediaSplit

_ARRAYS = ("attributes", "present", "images", "audio", "item_lines")


def save_split(split: MediaSplit, folder: Path) -> None:
    """Write ``split``'s arrays and captions under ``folder`` (the split's ``item_lines``
    must be set)."""
    for name in _ARRAYS:
        with atomic_path(folder / f"{name}.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, getattr(split, name))
    with atomic_path(folder / "captions.json") as tmp:
        tmp.write_text(json.dumps(split.captions), encoding="utf-8")


def load_split(folder: Path, attribute_names: tuple[str, ...],
               attribute_sizes: tuple[int, ...], sample_rate: int) -> MediaSplit:
    """The split :func:`save_split` wrote under ``folder``, with its label columns and rate,
    every file read in full (one that cannot be read raises ``UnreadablePart`` naming it)."""
    arrays = {name: read_part(folder / f"{name}.npy", np.load) for name in _ARRAYS}
    return MediaSplit(
        captions=read_part(folder / "captions.json",
                           lambda path: json.loads(path.read_text(encoding="utf-8"))),
        attribute_names=attribute_names,
        attribute_sizes=attribute_sizes,
        sample_rate=sample_rate,
        **arrays,
    )

"""``embeddings`` as a :class:`~benchmark.data.dataset.Dataset`: a folder of precomputed
per-modality embeddings (format: the package docstring), checked once, then cached."""

from __future__ import annotations

import hashlib
import json
import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.cache import atomic_path, cache_root, load_or_build, read_part
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.data.dataset import SPLITS, Dataset
from benchmark.data.embeddings.example import write_small_example
from benchmark.data.embeddings.folder import data_files, read_embeddings_folder, read_widths
from benchmark.data.folder_setting import folder_path, folder_version
from benchmark.data.manifest import BadData

FORMAT = b"anybench-embeddings-folder-v1"
"""Hashed into every key: a change of how folders are read changes every key."""

HASH_CHUNK = 1 << 20
"""Bytes read at a time while hashing."""


class PrecomputedEmbeddings(Dataset):
    """The embeddings folder at ``path`` (the one setting): ``PrecomputedEmbeddings(path=
    "data/my-feats")``. An unknown setting is a UserError naming the closest one."""

    name = "embeddings"
    kind = "embeddings"

    def __init__(self, path: str | os.PathLike[str] | None = None, **unknown: Any) -> None:
        self.path = folder_path(self.name, path, unknown, ["path"],
                                "manifest.jsonl and the {split}.{modality}.npy arrays")
        if not self.path.is_dir():
            raise BadData(self.path, "not a folder", fix="set 'path' to the folder holding "
                          "manifest.jsonl and the {split}.{modality}.npy arrays")
        self._hashed: tuple[tuple[Any, ...], str] | None = None

    small_example = staticmethod(write_small_example)

    @property
    def version(self) -> str:
        """``{folder name}-{key()[:8]}``, the folder name lower-cased with every run of
        characters outside ``[a-z0-9]`` turned into ``-`` (e.g. ``my-feats-3f9a0c1d``)."""
        return folder_version(self.path, self.key(), self.name)

    def settings(self) -> dict[str, Any]:
        """``{"path": the folder's absolute path}``."""
        return {"path": str(self.path)}

    def key(self) -> str:
        """BLAKE2b (128-bit, hex) of the manifest's and every array file's bytes, each
        preceded by its file name and size; the path is not hashed, so a copy of the folder
        has the same key. Remembered while the files' size, inode and times stay the same."""
        files = data_files(self.path)
        stamp = tuple((f.name, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
                      for f, s in ((f, f.stat()) for f in files))
        if self._hashed is None or self._hashed[0] != stamp:
            digest = hashlib.blake2b(FORMAT, digest_size=16)
            for file, (name, _, size, _, _) in zip(files, stamp, strict=True):
                digest.update(f"\0{name}\0{size}\0".encode())
                with file.open("rb") as content:
                    while chunk := content.read(HASH_CHUNK):
                        digest.update(chunk)
            self._hashed = (stamp, digest.hexdigest())
        return self._hashed[1]

    def embedding_dims(self) -> dict[Modality, int]:
        """``{modality: D_m}``, read from the training arrays' headers (no data is read)."""
        return read_widths(self.path)

    def load(self, progress: bool = True) -> dict[str, FeatureSplit]:
        """Both splits, checked (``read_embeddings_folder``: BadData, nothing cached, on a
        problem), then cached.

        The cache lives in ``cache_root() / "datasets" / f"embeddings-{key}"``: per split a
        folder with ``{modality}.npy`` (float32, absent rows zero), ``present.npy`` and
        ``attributes.npy``, plus ``embeddings.json`` (label column names and sizes), written
        last, which marks the cache complete. Embeddings load from the cache memory-mapped
        read-only; not standardised.

        Returns:
            ``{"train": ..., "test": ...}``; the same values whether checked or cached.
        """
        folder = cache_root() / "datasets" / f"{self.name}-{self.key()}"

        def save(splits: dict[str, FeatureSplit], marker: Path) -> None:
            for split, features in splits.items():
                _save_split(features, folder / split)
            first = splits[SPLITS[0]]
            marker.write_text(json.dumps({"attribute_names": first.attribute_names,
                                          "attribute_sizes": first.attribute_sizes}))

        def load(marker: Path) -> dict[str, FeatureSplit]:
            labels = read_part(marker, lambda path: json.loads(path.read_text()))
            return {split: _load_split(folder / split, tuple(labels["attribute_names"]),
                                       tuple(labels["attribute_sizes"])) for split in SPLITS}

        return load_or_build(folder / f"{self.name}.json",
                             lambda: read_embeddings_folder(self.path, progress),
                             save=save, load=load)


def _save_split(features: FeatureSplit, folder: Path) -> None:
    """``{modality}.npy``, ``present.npy`` and ``attributes.npy`` in ``folder``, each moved
    into place whole (a reader that memory-maps an old copy never sees a half-written one)."""
    arrays = {**features.embeddings, "present": features.present,
              "attributes": features.attributes}
    for name, array in arrays.items():
        with atomic_path(folder / f"{name}.npy") as tmp, tmp.open("wb") as file:
            np.save(file, array)


def _load_split(folder: Path, names: tuple[str, ...], sizes: tuple[int, ...]) -> FeatureSplit:
    """The split :func:`_save_split` wrote, its embeddings memory-mapped read-only (mapping
    checks that each file holds all its rows; a file that cannot be read raises
    ``UnreadablePart`` naming it)."""
    return FeatureSplit(
        embeddings={m: read_part(folder / f"{m}.npy", partial(np.load, mmap_mode="r"))
                    for m in MODALITIES},
        present=read_part(folder / "present.npy", np.load),
        attributes=read_part(folder / "attributes.npy", np.load),
        attribute_names=names,
        attribute_sizes=sizes,
    )

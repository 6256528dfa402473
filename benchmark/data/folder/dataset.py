"""``folder`` as a :class:`~benchmark.data.dataset.Dataset`: a user's paired media folder,
decoded once, then cached under its content key."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.cache import cache_root, load_or_build, read_part
from benchmark.core.errors import UserError
from benchmark.core.media_split import MediaSplit
from benchmark.data.dataset import SPLITS, Dataset
from benchmark.data.folder.content import content_key
from benchmark.data.folder.decoding import MediaShape, decode_media
from benchmark.data.folder.example import write_example
from benchmark.data.folder.store import load_split, save_split
from benchmark.data.folder_setting import folder_path, folder_version
from benchmark.data.manifest import Manifest, read_manifest, require_test_items

FORMAT_VERSION = "folder-v1"
"""Part of every key; bump whenever decoding changes the arrays a folder loads as."""

_SETTINGS = ("path", "image_size", "sample_rate", "duration_s")


class MediaFolder(Dataset):
    """The paired media folder at ``path`` (format: :mod:`benchmark.data.folder`).

    ``MediaFolder(path="data/pets", image_size=32, sample_rate=8000, duration_s=0.75)``:
    images become ``image_size x image_size`` RGB, audio ``round(duration_s * sample_rate)``
    mono samples at ``sample_rate`` Hz. An unknown setting is a UserError naming the closest
    one. The manifest is read and every referenced file hashed once per instance, on the
    first call of :meth:`key`, :attr:`version` or :meth:`load`.
    """

    name = "folder"
    kind = "media"

    def __init__(self, path: str | Path | None = None, image_size: int = 32,
                 sample_rate: int = 8_000, duration_s: float = 0.75, **unknown: Any) -> None:
        self.path = folder_path(self.name, path, unknown, _SETTINGS,
                                "manifest.jsonl and its media files")
        self.image_size = _positive("image_size", image_size, int)
        self.sample_rate = _positive("sample_rate", sample_rate, int)
        self.duration_s = float(_positive("duration_s", duration_s, float))
        self.shape = MediaShape(self.image_size, self.sample_rate,
                                round(self.duration_s * self.sample_rate))
        if self.shape.num_samples < 1:
            raise UserError(f"{self.name}: duration_s={duration_s} at sample_rate="
                            f"{sample_rate} is no audio sample: give a longer duration_s")

    @property
    def version(self) -> str:
        """``<folder name>-<first 8 digits of the key>``, the name lower-cased with every run
        of characters other than ``a-z0-9`` made one ``-`` (e.g. ``my-pets-3f2a9c01``)."""
        return folder_version(self.path, self.key(), self.name)

    def settings(self) -> dict[str, Any]:
        """The four settings, ``path`` as an absolute string."""
        return {"path": str(self.path), "image_size": self.image_size,
                "sample_rate": self.sample_rate, "duration_s": self.duration_s}

    def key(self) -> str:
        """A hash of the manifest, every file it references and every setting but ``path``
        (:mod:`benchmark.data.folder.content`); raises BadData for a bad manifest, no test
        items, or a referenced file that is outside the folder or missing."""
        return self._key

    def load(self, progress: bool = True) -> dict[str, MediaSplit]:
        """Both splits, decoded once (in parallel) and cached.

        The cache lives in ``cache_root() / "datasets" / f"folder-{key}"``: one folder per
        split (:mod:`benchmark.data.folder.store`), then ``folder.json`` (label columns and
        sample rate), written last, which marks it complete. Every file is written
        atomically and nothing is written before the whole folder decoded, so a bad file or
        an interrupted run leaves no cache.

        Returns:
            ``{"train": ..., "test": ...}``, rows in manifest order; identical arrays whether
            decoded or read from the cache.
        """
        cache = cache_root() / "datasets" / f"{self.name}-{self.key()}"
        return load_or_build(cache / f"{self.name}.json", lambda: self._decode(progress),
                             save=lambda splits, marker: _save(splits, cache, marker),
                             load=lambda marker: _load(cache, marker))

    @staticmethod
    def small_example(folder: Path) -> dict[str, Any]:
        """Write a small hand-made example into ``folder``
        (:mod:`benchmark.data.folder.example`); return the settings that load it."""
        write_example(folder)
        return {"path": str(folder)}

    @cached_property
    def _manifest(self) -> Manifest:
        manifest = read_manifest(self.path, "paths")
        require_test_items(manifest)
        return manifest

    @cached_property
    def _key(self) -> str:
        shaping = {"format": FORMAT_VERSION, **self.settings()}
        del shaping["path"]
        return content_key(self.path, self._manifest, shaping)

    def _decode(self, progress: bool) -> dict[str, MediaSplit]:
        """Every item of both splits decoded in one pass (so every bad file is reported)."""
        manifest = self._manifest
        by_split = {split: manifest.split(split) for split in SPLITS}
        items = [item for split in SPLITS for item in by_split[split]]
        images, audio = decode_media(self.path, items, self.shape, progress,
                                     desc=f"decoding {self.path.name}")
        splits, start = {}, 0
        for split, members in by_split.items():
            rows = slice(start, start + len(members))
            splits[split] = MediaSplit(
                attributes=manifest.labels(members),
                present=manifest.present(members),
                captions=[str(item.media.get("text", "")) for item in members],
                images=images[rows],
                audio=audio[rows],
                attribute_names=manifest.label_columns,
                attribute_sizes=manifest.label_sizes,
                sample_rate=self.sample_rate,
                item_lines=np.array([item.line for item in members], dtype=np.int64),
            )
            start += len(members)
        return splits


def _save(splits: dict[str, MediaSplit], cache: Path, marker: Path) -> None:
    for split, items in splits.items():
        save_split(items, cache / split)
    first = splits[SPLITS[0]]
    marker.write_text(json.dumps({
        "attribute_names": list(first.attribute_names),
        "attribute_sizes": list(first.attribute_sizes),
        "sample_rate": first.sample_rate,
    }, indent=2))


def _load(cache: Path, marker: Path) -> dict[str, MediaSplit]:
    meta = read_part(marker, lambda path: json.loads(path.read_text()))
    return {split: load_split(cache / split, tuple(meta["attribute_names"]),
                              tuple(meta["attribute_sizes"]), meta["sample_rate"])
            for split in SPLITS}


def _positive(setting: str, value: Any, kind: type) -> Any:
    """``value`` when it is a positive ``kind`` (an int passes for a float), else a
    UserError."""
    allowed = (int, float) if kind is float else (int,)
    if isinstance(value, bool) or not isinstance(value, allowed) or value <= 0:
        raise UserError(f"{setting} must be a positive {kind.__name__}, got {value!r}")
    return value

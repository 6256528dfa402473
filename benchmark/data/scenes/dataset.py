"""``scenes`` as a :class:`~benchmark.data.dataset.Dataset`: generated once, then cached."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from tqdm import tqdm

from benchmark.core.cache import atomic_path, cache_root, load_or_build, read_part
from benchmark.core.errors import UserError
from benchmark.core.media_split import MediaSplit
from benchmark.core.registry import did_you_mean
from benchmark.data.dataset import SPLITS, Dataset
from benchmark.data.scenes.config import ATTRIBUTE_NAMES, ATTRIBUTE_SIZES, ScenesConfig
from benchmark.data.scenes.generation import from_pcm16, generate_split, to_pcm16
from benchmark.data.scenes.preview import write_preview


class Scenes(Dataset):
    """The ``scenes`` dataset of one :class:`ScenesConfig`, built from its fields as settings.

    ``Scenes(n_train=1200, n_test=100)`` is the smoke profile's; an unknown setting is a
    UserError that names the closest one.
    """

    name = "scenes"
    kind = "media"
    small_settings: ClassVar[dict[str, Any]] = {"n_train": 300, "n_test": 30}
    """A small instance for quick checks (the dataset contract test)."""

    def __init__(self, **settings: Any) -> None:
        known = [f.name for f in fields(ScenesConfig)]
        for setting in settings:
            if setting not in known:
                raise UserError(
                    f"unknown {self.name} setting '{setting}': {did_you_mean(setting, known)}"
                )
        self.config = ScenesConfig(**settings)

    @property
    def version(self) -> str:
        """The generator's version (``scenes-v1``)."""
        return self.config.version

    def settings(self) -> dict[str, Any]:
        """Every field of the config."""
        return asdict(self.config)

    def key(self) -> str:
        """A hash of every field of the config."""
        return self.config.key()

    def load(self, progress: bool = True) -> dict[str, MediaSplit]:
        """Both splits, generated once and cached.

        The cache lives in ``cache_root() / "datasets" / f"scenes-{key}"``: one folder per
        split with ``.npy`` arrays (audio as int16 PCM) and ``captions.json``, plus
        ``scenes.json`` (the settings), written last, which marks the cache complete. Every
        file is written atomically, so an interrupted run leaves no partial cache; every
        file is read in full, so a damaged one is named and the cache rebuilt.

        Returns:
            ``{"train": ..., "test": ...}``; identical arrays whether generated or loaded.
        """
        folder = cache_root() / "datasets" / f"{self.name}-{self.key()}"

        def generate() -> dict[str, MediaSplit]:
            bar = tqdm(SPLITS, desc=f"generating {self.name}", unit="split", disable=not progress)
            return {split: generate_split(self.config, split) for split in bar}

        def save(splits: dict[str, MediaSplit], marker: Path) -> None:
            for split, items in splits.items():
                _save_split(items, folder / split)
            marker.write_text(json.dumps(self.settings(), indent=2))

        def load(marker: Path) -> dict[str, MediaSplit]:
            read_part(marker, _read_json)  # a damaged marker is named and rebuilt too
            return {split: _load_split(folder / split, self.config.sample_rate) for split in SPLITS}

        return load_or_build(folder / f"{self.name}.json", generate, save=save, load=load)

    def write_preview(self, split: MediaSplit, out_dir: Path) -> list[Path]:
        """A contact sheet and a few WAV files of ``split`` (:func:`write_preview`)."""
        return write_preview(split, out_dir)


def _save_array(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def _save_split(split: MediaSplit, folder: Path) -> None:
    _save_array(folder / "attributes.npy", split.attributes)
    _save_array(folder / "present.npy", split.present)
    _save_array(folder / "images.npy", split.images)
    _save_array(folder / "audio_pcm16.npy", to_pcm16(split.audio))
    with atomic_path(folder / "captions.json") as tmp:
        tmp.write_text(json.dumps(split.captions))


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def _load_split(folder: Path, sample_rate: int) -> MediaSplit:
    return MediaSplit(
        attributes=read_part(folder / "attributes.npy", np.load),
        present=read_part(folder / "present.npy", np.load),
        captions=read_part(folder / "captions.json", _read_json),
        images=read_part(folder / "images.npy", np.load),
        audio=from_pcm16(read_part(folder / "audio_pcm16.npy", np.load)),
        attribute_names=ATTRIBUTE_NAMES,
        attribute_sizes=ATTRIBUTE_SIZES,
        sample_rate=sample_rate,
    )

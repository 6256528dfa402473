"""Per-modality backbones: media <-> standardized embeddings, trained once and cached.

    backbones = load_backbones(dataset_key, splits["train"])
    z = backbones["image"].encode(images)        # float32 [B, 64], standardized
    images = backbones["image"].decode(z)        # uint8 [B, 32, 32, 3]

A trained backbone is stored at ``<cache>/backbones/<modality>-<hash>.pt`` where the hash
covers the dataset key, the whole ``BackboneConfig`` (its ``version`` included) and the
modality, so a changed setting always trains a fresh one.
"""

from __future__ import annotations

from pathlib import Path

import torch

from benchmark.backbones.audio import AudioBackbone
from benchmark.backbones.base import Backbone
from benchmark.backbones.image import ImageBackbone
from benchmark.backbones.text import TextBackbone
from benchmark.backbones.training import BACKBONES, BackboneConfig, train_backbone
from benchmark.core.cache import cache_root, config_hash, load_or_build
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES, Modality

__all__ = [
    "AudioBackbone",
    "Backbone",
    "BackboneConfig",
    "ImageBackbone",
    "TextBackbone",
    "backbone_key",
    "backbone_path",
    "load_backbones",
]

DEFAULT_CONFIG = BackboneConfig()


def backbone_key(dataset_key: str, config: BackboneConfig) -> str:
    """Hash identifying the backbones for ``dataset_key`` and ``config`` (for downstream caches)."""
    return config_hash(dataset_key, config)


def backbone_path(
    dataset_key: str, config: BackboneConfig, modality: Modality, root: Path | None = None
) -> Path:
    """Where the backbone for ``modality`` is cached."""
    name = f"{modality}-{config_hash(dataset_key, config, modality)}.pt"
    return Path(root or cache_root()) / "backbones" / name


def load_backbones(
    dataset_key: str,
    train: MediaSplit,
    config: BackboneConfig = DEFAULT_CONFIG,
    root: Path | None = None,
    progress: bool = True,
) -> dict[Modality, Backbone]:
    """A frozen backbone for every modality present in ``train``, from cache or trained now.

    Each modality's autoencoder is trained only on the items that have it
    (``train.has(modality)``); its standardization statistics come from those items.
    """
    backbones: dict[Modality, Backbone] = {}
    for modality in MODALITIES:
        has = train.has(modality)
        if has.any():
            backbones[modality] = load_or_build(
                backbone_path(dataset_key, config, modality, root),
                lambda m=modality, h=has: train_backbone(m, train.subset(h), config, progress),
                save=_save,
                load=_load,
            )
    return backbones


def _save(backbone: Backbone, path: Path) -> None:
    state = {
        "modality": backbone.modality,
        "hparams": backbone.hparams,
        "state_dict": backbone.state_dict(),
    }
    with path.open("wb") as file:  # through a handle: the archive is named "archive", not path
        torch.save(state, file)


def _load(path: Path) -> Backbone:
    state = torch.load(path, map_location="cpu", weights_only=True)
    with torch.random.fork_rng(devices=[]):  # building draws (discarded) initial weights
        backbone = BACKBONES[state["modality"]](**state["hparams"])
    backbone.load_state_dict(state["state_dict"])
    return backbone.eval().requires_grad_(False)

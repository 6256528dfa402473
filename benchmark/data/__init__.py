"""Datasets anybench can run on, registered by name (modules imported lazily)."""

from __future__ import annotations

from benchmark.core.registry import Registry

DATASETS: Registry[type] = Registry("dataset")


def _scenes() -> type:
    from benchmark.data.scenes import ScenesConfig

    return ScenesConfig


DATASETS.add(
    "scenes",
    "embedded, procedurally generated shapes rendered as image, caption and sound (offline)",
    _scenes,
)

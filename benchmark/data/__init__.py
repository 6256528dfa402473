"""Datasets anybench can run on, registered by name (modules imported lazily).

A new dataset is one module (or package) with a factory that takes the dataset's
settings as keyword arguments and returns a :class:`~benchmark.data.dataset.Dataset`,
plus one ``DATASETS.add`` line here; profiles then name it with its settings, and the
contract test (``tests/contracts/test_dataset_contract.py``) checks it with no other file touched.

``--dataset`` takes a registered name, a ``path/to/file.py:Name`` plug-in, or the path of
a folder, recognised by its format (:func:`dataset_choice`):

    manifest.jsonl and {split}.{modality}.npy arrays   precomputed embeddings ("embeddings")
    manifest.jsonl alone (media files beside it)       paired media ("folder")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from benchmark.core.registry import Registry, is_plugin_path
from benchmark.data.dataset import SPLITS, Dataset, DatasetFactory
from benchmark.data.manifest import MANIFEST

DATASETS: Registry[DatasetFactory] = Registry("dataset", "anybench.datasets")


def build_dataset(name: str, settings: Mapping[str, Any]) -> Dataset:
    """The dataset registered as ``name`` (or whose factory a ``path/to/file.py:Name``
    names), built from ``settings``."""
    return DATASETS.get(name)(**settings)


def dataset_choice(text: str) -> tuple[str, dict[str, Any]]:
    """What ``--dataset TEXT`` means: ``(registered name, settings)``. A registered name or a
    plug-in keeps its default settings; an existing folder is recognised by its format."""
    if is_plugin_path(text) or text in DATASETS.names():
        return text, {}
    folder = Path(text).expanduser()
    if not folder.exists():
        if len(folder.parts) > 1 or text.startswith((".", "~")):
            raise UserError(f"no dataset folder at {text}: give the folder that holds "
                            f"{MANIFEST}, or a name from `ls datasets`")
        DATASETS.entry(text)  # an unknown name: the did-you-mean error
    if not folder.is_dir():
        raise UserError(f"--dataset {text} is a file, not a dataset folder: give the folder "
                        f"that holds {MANIFEST}")
    path = str(folder.resolve())
    if (folder / MANIFEST).is_file():
        arrays = [f"{split}.{m}.npy" for split in SPLITS for m in MODALITIES]
        kind = "embeddings" if any((folder / name).is_file() for name in arrays) else "folder"
        return kind, {"path": path}
    if any(folder.glob("*.npz")):
        raise UserError(f"{text} holds .npz feature files but no {MANIFEST}: import it first "
                        f"with `python -m benchmark import-npz {text} --to DIR`, then "
                        "--dataset DIR")
    raise UserError(f"{text} is not a dataset folder: it has no {MANIFEST} (see "
                    "docs/your-own-data.md for the folder and embeddings formats)")


DATASETS.add(
    "scenes",
    "benchmark.data.scenes:Scenes",
    "embedded, procedurally generated shapes rendered as image, caption and sound (offline)",
)
DATASETS.add(
    "folder",
    "benchmark.data.folder:MediaFolder",
    "your paired media: --dataset DIR with manifest.jsonl, images, audio, captions, labels",
)
DATASETS.add(
    "embeddings",
    "benchmark.data.embeddings:PrecomputedEmbeddings",
    "your precomputed features: --dataset DIR with manifest.jsonl and {split}.{modality}.npy",
)

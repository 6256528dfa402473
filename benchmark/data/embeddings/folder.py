"""The embeddings folder format on disk: which files make it, reading them back as checked
:class:`FeatureSplit` arrays, and writing them (format described in the package docstring).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap
from tqdm import tqdm

from benchmark.core.cache import scratch_folder
from benchmark.core.errors import UserError
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.data.dataset import SPLITS
from benchmark.data.manifest import (
    MANIFEST,
    BadData,
    Label,
    Manifest,
    ManifestItem,
    read_manifest,
    require_test_items,
)

ARRAY_DTYPES: tuple[np.dtype, ...] = tuple(np.dtype(t) for t in ("float16", "float32", "float64"))
"""The dtypes an array file may hold; loading converts them to float32."""

CHUNK_VALUES = 1 << 22
"""How many array values are converted or copied at a time (16 MiB of float32)."""


def array_name(split: str, modality: Modality) -> str:
    """The file name of a split's array of one modality: ``{split}.{modality}.npy``."""
    return f"{split}.{modality}.npy"


def data_files(folder: Path) -> list[Path]:
    """The files whose bytes are the dataset, those that exist, in a fixed order: the
    manifest, then the array of each split (:data:`SPLITS` order) and modality
    (:data:`MODALITIES` order)."""
    names = [MANIFEST] + [array_name(s, m) for s in SPLITS for m in MODALITIES]
    return [folder / name for name in names if (folder / name).is_file()]


def _chunk_rows(dim: int) -> int:
    """Rows per chunk for arrays ``dim`` wide."""
    return max(1, CHUNK_VALUES // max(dim, 1))


# ------------------------------------------------------------------------------- reading


def read_embeddings_folder(folder: Path, progress: bool = True) -> dict[str, FeatureSplit]:
    """Check ``folder`` and load it: ``{"train": ..., "test": ...}``.

    Each embedding array comes back as float32 ``[N_split, D_m]`` in memory, with the rows
    of items that lack the modality set to zero. A split whose items all lack a modality
    and that has no array for it gets zeros of the other split's dimension.

    Raises:
        BadData: the manifest's problems (:func:`read_manifest`), no test items, a
            modality no training item has, and per array: missing while items have the
            modality, unreadable, not float16/32/64, not 2-D with a positive width, a row
            count other than the split's item count, a width other than the other
            split's, NaN or infinite values (after conversion to float32) in the rows of
            items that have the modality.
    """
    manifest = read_manifest(folder, "flags")
    require_test_items(manifest)
    train_present = manifest.present(manifest.split("train"))
    lacking = [m for j, m in enumerate(MODALITIES) if not train_present[:, j].any()]
    if lacking:
        raise BadData(manifest.path, f"no training item has {' or '.join(lacking)}",
                      fix="anybench needs all three modalities (text, image, audio): mark "
                          "the training items that have each with true")
    dims: dict[Modality, int] = {}
    splits = {}
    for split in SPLITS:  # train first: every modality has a train array, so dims fill
        items = manifest.split(split)
        present = manifest.present(items)
        embeddings = {m: _read_array(folder, manifest, split, m, items, present[:, j], dims,
                                     progress)
                      for j, m in enumerate(MODALITIES)}
        splits[split] = FeatureSplit(embeddings, present, manifest.labels(items),
                                     manifest.label_columns, manifest.label_sizes)
    return splits


def _read_array(folder: Path, manifest: Manifest, split: str, modality: Modality,
                items: Sequence[ManifestItem], present: np.ndarray, dims: dict[Modality, int],
                progress: bool) -> np.ndarray:
    """One checked array as float32 with absent rows zeroed; records its width in ``dims``."""
    name = array_name(split, modality)
    path = folder / name
    if not path.is_file():
        if present.any():
            raise BadData(manifest.path, f'no {name} for the items marked "{modality}": true',
                          [items[i].line for i in np.flatnonzero(present)],
                          fix=f"save one row per {split} item, in manifest order, as {name}")
        return np.zeros((len(items), dims[modality]), dtype=np.float32)
    array = _open(path, split)
    if len(array) != len(items):
        raise BadData(path, f"{len(array)} rows for the {len(items)} {split} items of the "
                            "manifest", fix="save one row per item of the split, in manifest "
                                            "order (rows of items without the modality are "
                                            "ignored)")
    dim = array.shape[1]
    if dims.setdefault(modality, dim) != dim:
        raise BadData(path, f"dimension {dim}, but {array_name(SPLITS[0], modality)} has "
                            f"{dims[modality]}", fix="embed both splits with the same encoder")
    values, finite = _to_float32(array, present, name, progress)
    if not finite.all():
        raise BadData(manifest.path, f"NaN or infinite values (as float32) in the {name} rows "
                                     "of the items",
                      [items[i].line for i in np.flatnonzero(~finite)],
                      fix="recompute or drop those items' embeddings")
    return values


def _open(path: Path, split: str) -> np.ndarray:
    """``path`` memory-mapped read-only (only its header is read); BadData when it is not
    a ``.npy`` array, not float16/32/64, or not 2-D with a positive width."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise BadData(path, f"not a readable .npy array ({error})",
                      fix="save it with numpy.save") from None
    if not isinstance(array, np.ndarray):
        raise BadData(path, "not a .npy array (an .npz archive?)", fix="save it with numpy.save")
    if array.dtype not in ARRAY_DTYPES:
        raise BadData(path, f"dtype {array.dtype}",
                      fix="save the embeddings as float16, float32 or float64")
    if array.ndim != 2 or array.shape[1] == 0:
        raise BadData(path, f"an array of shape {list(array.shape)}",
                      fix=f"save a 2-D array [items, dimension], one row per {split} item")
    return array


def read_widths(folder: Path) -> dict[Modality, int]:
    """``{modality: D_m}`` from the headers of the training arrays (no data is read).

    Raises:
        BadData: a training array that is missing, unreadable, not float or not 2-D.
    """
    split = SPLITS[0]
    widths = {}
    for modality in MODALITIES:
        path = folder / array_name(split, modality)
        if not path.is_file():
            raise BadData(folder, f"no {path.name}", fix="anybench needs all three modalities "
                          f"(text, image, audio) among the {split} items, one array each")
        widths[modality] = int(_open(path, split).shape[1])
    return widths


def _to_float32(array: np.ndarray, present: np.ndarray, name: str, progress: bool
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(values, finite)``: ``array`` as float32 in memory, converted a chunk of rows at a
    time, zero in rows where ``present`` is false; ``finite[i]`` is false where a present
    row holds a NaN or infinite value (a float64 beyond float32's range becomes infinite)."""
    values = np.zeros(array.shape, dtype=np.float32)
    finite = np.ones(len(array), dtype=bool)
    step = _chunk_rows(array.shape[1])
    with tqdm(total=len(array), desc=f"reading {name}", unit="item", disable=not progress,
              leave=False) as bar:
        for start in range(0, len(array), step):
            rows = slice(start, start + step)
            with np.errstate(over="ignore", invalid="ignore"):
                block = np.asarray(array[rows], dtype=np.float32)
            keep = present[rows]
            block = np.where(keep[:, None], block, np.float32(0))
            finite[rows] = np.isfinite(block).all(axis=1)
            values[rows] = block
            bar.update(len(block))
    return values, finite


# ------------------------------------------------------------------------------- writing


def check_writable(out: Path) -> None:
    """UserError unless ``out`` is absent or an empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder: write the embeddings to a "
                        "new or empty folder")


def write_embeddings_folder(out: Path, splits: Mapping[str, FeatureSplit],
                            ids: Mapping[str, Sequence[str]] | None = None,
                            label_values: Mapping[str, Sequence[Label]] | None = None) -> None:
    """Write ``splits`` as an embeddings folder at ``out`` (absent or empty).

    Everything is written into a temporary sibling folder that is renamed to ``out`` at
    the end, so a failure leaves ``out`` as it was. Each array keeps its dtype when it is
    float16/32/64 (else becomes float32), with absent rows written as zeros.

    Args:
        out: the folder to create.
        splits: ``{split: FeatureSplit}`` for splits among :data:`SPLITS`, written in that
            order; the label columns must be the same in every split.
        ids: the item ids per split, unique over all splits; default ``"{split}-{i}"``.
        label_values: per label column, the value written for label index ``k``
            (``label_values[column][k]``, strings or integers); default ``k`` itself.
            Reading keeps integer values as their own index and numbers strings in
            sorted order, so indices come back unchanged unless strings are given
            unsorted; label ``-1`` is left out.

    Raises:
        UserError: ``out`` exists and is not an empty folder.
        ValueError: unknown split names, ids of the wrong count or repeated, or label
            columns that differ between splits.
    """
    out = Path(out)
    check_writable(out)
    _check_arguments(splits, ids, label_values)
    ids = ids or {split: [f"{split}-{i}" for i in range(len(s))] for split, s in splits.items()}
    columns = next(iter(splits.values())).attribute_names if splits else ()
    sizes = next(iter(splits.values())).attribute_sizes if splits else ()
    values = label_values or {c: list(range(size)) for c, size in zip(columns, sizes, strict=True)}
    scratch = scratch_folder(out)
    try:
        with (scratch / MANIFEST).open("w", encoding="utf-8") as manifest:
            for split in (s for s in SPLITS if s in splits):
                for line in _manifest_lines(split, splits[split], ids[split], values):
                    manifest.write(line + "\n")
        for split, features in splits.items():
            for j, modality in enumerate(MODALITIES):
                _write_array(scratch / array_name(split, modality),
                             features.embeddings[modality], features.present[:, j])
        if out.exists():
            out.rmdir()
        os.replace(scratch, out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _check_arguments(splits: Mapping[str, FeatureSplit],
                     ids: Mapping[str, Sequence[str]] | None,
                     label_values: Mapping[str, Sequence[Label]] | None) -> None:
    """ValueError for arguments :func:`write_embeddings_folder` cannot write."""
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown splits {sorted(unknown)}: use {', '.join(SPLITS)}")
    if len({s.attribute_names for s in splits.values()}) > 1:
        raise ValueError("the splits have different label columns")
    if ids is not None:
        for split, features in splits.items():
            if len(ids.get(split, ())) != len(features):
                raise ValueError(f"{len(ids.get(split, ()))} ids for {len(features)} {split} "
                                 "items")
        every = [str(i) for split in splits for i in ids[split]]
        if len(set(every)) != len(every):
            raise ValueError("repeated ids: each item needs its own")
    if label_values is not None:
        for features in splits.values():
            if tuple(label_values) != features.attribute_names:
                raise ValueError(f"label_values names {list(label_values)}, the splits' label "
                                 f"columns are {list(features.attribute_names)}")


def _manifest_lines(split: str, features: FeatureSplit, ids: Sequence[str],
                    values: Mapping[str, Sequence[Label]]) -> list[str]:
    """One JSON line per item: id, split, ``true`` per modality it has, its labels."""
    columns = list(values)
    lines = []
    for i, item_id in enumerate(ids):
        record: dict[str, object] = {"id": str(item_id), "split": split}
        record.update({m: True for j, m in enumerate(MODALITIES) if features.present[i, j]})
        labels = {c: _plain(values[c][k]) for c, k in zip(columns, features.attributes[i],
                                                               strict=True) if k >= 0}
        if labels:
            record["labels"] = labels
        lines.append(json.dumps(record))
    return lines


def _plain(value: Label | np.generic) -> Label:
    """A label value as a JSON-ready Python string or int."""
    return value.item() if isinstance(value, np.generic) else value


def _write_array(path: Path, array: np.ndarray, present: np.ndarray) -> None:
    """``array`` saved as ``.npy`` a chunk of rows at a time, zero in absent rows."""
    dtype = array.dtype if array.dtype in ARRAY_DTYPES else np.dtype(np.float32)
    target = open_memmap(path, mode="w+", dtype=dtype, shape=array.shape)
    step = _chunk_rows(array.shape[1])
    for start in range(0, len(array), step):
        rows = slice(start, start + step)
        target[rows] = np.where(present[rows, None], array[rows], 0)
    target.flush()
    del target

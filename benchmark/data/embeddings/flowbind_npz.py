"""Import a FlowBind feature folder into an embeddings folder.

FlowBind's pipeline keeps precomputed features as one ``<index>.npz`` per item under
``feats/{dataset}/``, with one key per modality the item has - ``text``, ``image``,
``audio`` - each a float vector ``[D]`` (or ``[1, D]``); which keys are present *is* the
pairing. :func:`import_flowbind_npz` reads such a folder (not its subfolders) and writes
the embeddings format (package docstring):

- ids are the file stems, items ordered by stem (numerically when every stem is an
  integer); items of a separate ``test_source`` folder get the ids ``test/<stem>``;
- test items are those of ``test_source``, else a seeded ``test_fraction`` of the items
  that hold all three modalities (the rest are training items);
- vectors are stored as float32 (float16 exactly; float64 rounded as the dataset loads it);
- keys other than text/image/audio are ignored, with one warning line on stderr that
  names them and how many files hold each.

Every problem of a folder is collected before anything is written and the first kind is
reported as one :class:`UserError` naming how many files have it and the first few; the
features are held in memory while importing (``N x sum(D_m) x 4`` bytes).
"""

from __future__ import annotations

import sys
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmark.core.errors import UserError
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.data.embeddings.folder import ARRAY_DTYPES, check_writable, write_embeddings_folder

SHOWN_FILES = 5
"""How many file names an error lists."""

TEST_PREFIX = "test/"
"""What the ids of a separate test folder's items start with (stems may repeat across
the two folders)."""


@dataclass
class _Features:
    """The items of one feature folder, in stem order: ``present`` is ``bool [N, 3]``,
    ``embeddings[m]`` float32 ``[N, D_m]`` with zeros where ``m`` is absent."""

    stems: list[str]
    present: np.ndarray
    embeddings: dict[Modality, np.ndarray]

    def split(self, rows: np.ndarray | slice = slice(None)) -> FeatureSplit:
        """The items ``rows`` selects (a bool ``[N]`` mask; all by default), without label
        columns."""
        present = self.present[rows]
        return FeatureSplit({m: x[rows] for m, x in self.embeddings.items()}, present,
                            np.zeros((len(present), 0), dtype=np.int64), (), ())


def import_flowbind_npz(source: Path, out: Path, *, test_source: Path | None = None,
                        test_fraction: float = 0.1, seed: int = 0,
                        progress: bool = True) -> dict[str, int]:
    """Write the FlowBind feature folder ``source`` as the embeddings folder ``out``.

    Args:
        source: a folder of ``<stem>.npz`` files (the training items, and the test items
            when ``test_source`` is not given).
        out: the embeddings folder to create (absent or empty).
        test_source: a second such folder holding the test items.
        test_fraction: without ``test_source``, the share of the items holding text, image
            and audio that become test items (``round(test_fraction * count)`` of them,
            drawn with ``numpy.random.default_rng(seed)``); in ``(0, 1)``.
        seed: the seed of that draw.
        progress: show a progress bar per folder read.

    Returns:
        ``{"train": items, "test": items}`` as written.

    Raises:
        UserError: ``out`` not empty; a source that is not a folder or holds no ``.npz``
            files; files that are not ``.npz`` archives, have none of the keys text, image,
            audio, hold an entry that is not a finite float vector, or a vector whose
            dimension differs from the first file's with that modality (the test folder's
            too); a modality no item of ``source`` has; no test items.
    """
    source, out = Path(source), Path(out)
    check_writable(out)
    if test_source is None and not 0 < test_fraction < 1:
        raise UserError(f"test_fraction {test_fraction} is not between 0 and 1")
    train, widths = _read_folder(source, {}, progress)
    lacking = [m for j, m in enumerate(MODALITIES) if not train.present[:, j].any()]
    if lacking:
        raise UserError(f"{source}: no file has {' or '.join(lacking)}: anybench needs all "
                        "three modalities (text, image, audio) among the training items")
    if test_source is not None:
        test, _ = _read_folder(Path(test_source), widths, progress)
        splits = {"train": train.split(), "test": test.split()}
        ids = {"train": train.stems, "test": [TEST_PREFIX + stem for stem in test.stems]}
    else:
        complete = np.flatnonzero(train.present.all(axis=1))
        count = round(test_fraction * len(complete))
        if count == 0:
            raise UserError(f"{source}: no test items: {len(complete)} of the "
                            f"{len(train.stems)} items hold text, image and audio, and a "
                            f"test_fraction of {test_fraction} of them is none; raise "
                            "test_fraction or give a test_source folder")
        is_test = np.zeros(len(train.stems), dtype=bool)
        is_test[np.random.default_rng(seed).choice(complete, count, replace=False)] = True
        splits = {"train": train.split(~is_test), "test": train.split(is_test)}
        stems = np.array(train.stems, dtype=object)
        ids = {"train": list(stems[~is_test]), "test": list(stems[is_test])}
    write_embeddings_folder(out, splits, ids)
    return {split: len(features) for split, features in splits.items()}


def _stem_order(paths: list[Path]) -> list[Path]:
    """``paths`` sorted by stem: numerically (ties by text) when every stem is an integer."""
    try:
        numbers = {path: int(path.stem) for path in paths}
    except ValueError:
        return sorted(paths, key=lambda path: path.stem)
    return sorted(paths, key=lambda path: (numbers[path], path.stem))


def _read_folder(folder: Path, widths: dict[Modality, tuple[int, str]], progress: bool
                 ) -> tuple[_Features, dict[Modality, tuple[int, str]]]:
    """Every ``.npz`` of ``folder`` and ``{modality: (D, first file with it)}``.

    ``widths`` holds the dimensions already seen (another folder's); a modality no file
    has keeps that width, or width 0 when none is known.
    """
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: give a folder of FlowBind .npz feature "
                        "files (feats/<dataset>)")
    files = _stem_order(list(folder.glob("*.npz")))
    if not files:
        raise UserError(f"{folder} holds no .npz files: give a folder of FlowBind feature "
                        "files, one <index>.npz per item")
    widths = dict(widths)
    problems: dict[str, list[str]] = defaultdict(list)
    ignored: Counter[str] = Counter()
    present = np.zeros((len(files), len(MODALITIES)), dtype=bool)
    vectors: dict[Modality, list[tuple[int, np.ndarray]]] = {m: [] for m in MODALITIES}
    for row, path in enumerate(tqdm(files, desc=f"reading {folder.name}", unit="file",
                                    disable=not progress)):
        try:
            keys, entries = _entries(path)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile):
            problems["not a readable .npz archive"].append(path.name)
            continue
        ignored.update(key for key in keys if key not in MODALITIES)
        if not entries:
            problems["none of the keys text, image, audio"].append(path.name)
        for j, modality in enumerate(MODALITIES):
            if modality not in entries:
                continue
            problem = _vector_problem(modality, entries[modality],
                                      f"{folder.name}/{path.name}", widths)
            if problem:
                problems[problem].append(path.name)
                continue
            vectors[modality].append((row, entries[modality].reshape(-1)))
            present[row, j] = True
    if problems:
        problem, names = min(problems.items(), key=lambda kv: files.index(folder / kv[1][0]))
        shown = ", ".join(names[:SHOWN_FILES]) + (", ..." if len(names) > SHOWN_FILES else "")
        raise UserError(f"{folder}: {problem} in {len(names)} file(s) ({shown}): each "
                        "<index>.npz holds a float vector per modality it has, under the key "
                        "text, image or audio, one dimension per modality")
    if ignored:
        counts = ", ".join(f"{key} ({n} file{'' if n == 1 else 's'})"
                           for key, n in sorted(ignored.items()))
        print(f"warning: {folder}: ignored keys other than text, image, audio: {counts}",
              file=sys.stderr)
    embeddings = {}
    for modality in MODALITIES:
        x = np.zeros((len(files), widths.get(modality, (0, ""))[0]), dtype=np.float32)
        for row, vector in vectors[modality]:
            x[row] = vector
        embeddings[modality] = x
    return _Features([path.stem for path in files], present, embeddings), widths


def _entries(path: Path) -> tuple[list[str], dict[Modality, np.ndarray]]:
    """The keys of the ``.npz`` at ``path`` and its arrays under the keys text, image,
    audio (other keys' data is not read); ValueError when it is no archive."""
    loaded = np.load(path, allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a .npy array, not an .npz archive")
    with loaded:
        return loaded.files, {m: loaded[m] for m in MODALITIES if m in loaded.files}


def _vector_problem(modality: Modality, value: np.ndarray, name: str,
                    widths: dict[Modality, tuple[int, str]]) -> str | None:
    """What is wrong with ``value`` as the ``modality`` vector of file ``name`` (``folder/
    file.npz``), or None; records the first width seen per modality in ``widths``."""
    if value.ndim == 2 and value.shape[0] == 1:
        value = value[0]
    if value.ndim != 1 or value.size == 0 or value.dtype not in ARRAY_DTYPES:
        return f"{modality} entries that are not float vectors [D] or [1, D]"
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isfinite(value.astype(np.float32)).all():
            return f"NaN or infinite values (as float32) in {modality} vectors"
    width, first = widths.setdefault(modality, (len(value), name))
    if len(value) != width:
        return f"{modality} vectors whose dimension is not {width} (as in {first})"
    return None

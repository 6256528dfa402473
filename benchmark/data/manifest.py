"""The manifest of a user dataset folder: one JSON object per line of ``manifest.jsonl``.

Each line describes one item::

    {"id": "0001", "split": "train", "text": "a red circle", "image": "img/0001.png",
     "audio": "wav/0001.wav", "labels": {"colour": "red", "shape": 0}}

- ``id`` (required): a non-empty string (or integer), unique in the manifest;
- ``split`` (required): ``train`` or ``test``;
- ``text``: the caption, inline, a non-empty string (in an embeddings folder ``true`` also
  says the item has text);
- ``image``, ``audio``: in a media folder, paths relative to the folder; in an embeddings
  folder, ``true`` when the item has that modality (its row in the split's array);
- ``labels``: an object of categorical columns, each value a string or an integer.

A modality that is absent (or ``null``, or ``false``) is missing for the item: training
items may lack any modality (partial pairing). Label columns are the union over items, in
the order they first appear; an item without a column has the unknown label ``-1`` there
(judges ignore it in training),
but every test item must carry every column, since test labels are what attribute
accuracy is scored against. An integer column's values are their own indices (``0`` to its
largest value, which sets the number of classes); a string column's values are numbered
in sorted order over both splits; a column mixing the two is refused.

Every problem of the whole file is collected before anything is built, and reported as
one :class:`BadData` line: what is wrong, on how many lines, the first few line numbers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.data.dataset import SPLITS

MANIFEST = "manifest.jsonl"
"""The manifest's file name inside a dataset folder."""

Label = str | int
ModalityFields = Literal["paths", "flags"]
"""How an item names its image and audio: relative file ``paths`` (a media folder) or
``flags`` (``true``: a row in the split's embedding array)."""

_SHOWN_LINES = 5


class BadData(UserError):
    """A dataset folder whose content is wrong: one line naming the problem, how many
    lines have it, the first few of them, and the fix."""

    def __init__(self, where: Path, problem: str, lines: Sequence[int] = (), fix: str = ""):
        if lines:
            shown = ", ".join(str(n) for n in lines[:_SHOWN_LINES])
            more = ", ..." if len(lines) > _SHOWN_LINES else ""
            noun = "line" if len(lines) == 1 else "lines"
            problem = f"{problem} on {len(lines)} {noun} ({noun} {shown}{more})"
        super().__init__(f"bad dataset {where}: {problem}" + (f": {fix}" if fix else ""))
        self.where, self.lines = where, list(lines)


@dataclass(frozen=True)
class ManifestItem:
    """One line of the manifest. ``line`` is its 1-based line number in the file; ``media``
    holds, per modality the item has, the caption (text), the relative path (media folder)
    or ``True`` (embeddings folder)."""

    line: int
    id: str
    split: str
    media: dict[Modality, str | bool]
    labels: dict[str, Label]

    def has(self, modality: Modality) -> bool:
        return modality in self.media


@dataclass
class Manifest:
    """A validated manifest: its items in file order, and the label columns with their
    values in the order labels are numbered."""

    path: Path
    items: list[ManifestItem]
    label_values: dict[str, tuple[Label, ...]] = field(default_factory=dict)

    @property
    def label_columns(self) -> tuple[str, ...]:
        return tuple(self.label_values)

    @property
    def label_sizes(self) -> tuple[int, ...]:
        return tuple(len(values) for values in self.label_values.values())

    def split(self, name: str) -> list[ManifestItem]:
        """The items of split ``name`` in file order (the order of its arrays' rows)."""
        return [item for item in self.items if item.split == name]

    def present(self, items: Sequence[ManifestItem]) -> np.ndarray:
        """``bool [N, 3]``: which of :data:`MODALITIES` each item has."""
        return np.array([[item.has(m) for m in MODALITIES] for item in items],
                        dtype=bool).reshape(len(items), len(MODALITIES))

    def labels(self, items: Sequence[ManifestItem]) -> np.ndarray:
        """``int64 [N, A]``: each item's label index per column, ``-1`` where it has none."""
        index = {column: {value: k for k, value in enumerate(values)}
                 for column, values in self.label_values.items()}
        rows = [[index[c][item.labels[c]] if c in item.labels else -1 for c in index]
                for item in items]
        return np.array(rows, dtype=np.int64).reshape(len(items), len(index))


def read_manifest(folder: Path, modality_fields: ModalityFields) -> Manifest:
    """Parse and check ``folder/manifest.jsonl``; raise :class:`BadData` on the first kind
    of problem found (every line that has it listed)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BadData(folder, f"no {MANIFEST}", fix="a dataset folder holds a manifest.jsonl "
                      "with one JSON object per item (see docs/your-own-data.md)")
    problems: dict[str, list[int]] = defaultdict(list)
    items: list[ManifestItem] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except UnicodeDecodeError as error:
        raise BadData(path, f"not UTF-8 text ({error.reason} at byte {error.start})",
                      fix="save the manifest as UTF-8") from None
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        item = _parse_line(number, text, modality_fields, problems)
        if item is not None:
            items.append(item)
    _check_items(items, problems)
    raise_first(path, problems)
    if not items:
        raise BadData(path, "no items", fix="write one JSON object per item, one per line")
    label_values = _label_values(items, problems)
    raise_first(path, problems)
    return Manifest(path, items, label_values)


_FIXES = {
    "a line that is not a JSON object": "write one JSON object per line",
    "no id": 'give every item an "id"',
    "an id that is not a non-empty string or integer": 'make "id" a non-empty string',
    "a duplicate id": "give each item its own id",
    "an unknown split": f"use one of {', '.join(SPLITS)}",
    "an empty or non-string caption": 'make "text" a non-empty string, or leave it out',
    "a media path that is not a non-empty string": 'make "image" and "audio" paths relative '
                                                   "to the folder, or leave them out",
    "a modality flag that is not true or false": 'mark "image"/"audio"/"text" as true when '
                                                 "the item has a row in that array",
    "labels that are not an object": 'make "labels" an object of column: value',
    "a label that is not a string or integer": "use strings or integers as label values",
    "an item with no modality": "drop the item, or give it at least one modality",
    "a test item without labels for every column": "give every test item a value in every "
                                                   "label column (test labels are scored)",
    "a label column mixing strings and integers": "use one type of value per column",
    "a negative integer label": "number integer labels from 0 (or use strings)",
}


def _parse_line(number: int, text: str, modality_fields: ModalityFields,
                problems: dict[str, list[int]]) -> ManifestItem | None:
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        problems["a line that is not a JSON object"].append(number)
        return None
    ok = True
    raw_id = record.get("id")
    if raw_id is None:
        problems["no id"].append(number)
        ok = False
    elif isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        problems["an id that is not a non-empty string or integer"].append(number)
        ok = False
    split = record.get("split")
    if split not in SPLITS:
        problems["an unknown split"].append(number)
        ok = False
    media: dict[Modality, str | bool] = {}
    caption = record.get("text")
    if modality_fields == "flags" and caption is True:
        media["text"] = True
    elif caption is not None and caption is not False:
        if isinstance(caption, str) and caption.strip():
            media["text"] = caption
        else:
            problems["an empty or non-string caption"].append(number)
            ok = False
    for modality in ("image", "audio"):
        value = record.get(modality)
        if value is None or value is False:
            continue
        if modality_fields == "flags":
            if value is True or (isinstance(value, str) and value):
                media[modality] = True
            else:
                problems["a modality flag that is not true or false"].append(number)
                ok = False
        elif isinstance(value, str) and value:
            media[modality] = value
        else:
            problems["a media path that is not a non-empty string"].append(number)
            ok = False
    labels = record.get("labels", {})
    if labels is None:
        labels = {}
    if not isinstance(labels, dict):
        problems["labels that are not an object"].append(number)
        ok, labels = False, {}
    if any(isinstance(v, bool) or not isinstance(v, str | int) for v in labels.values()):
        problems["a label that is not a string or integer"].append(number)
        ok = False
    if ok and not media:
        problems["an item with no modality"].append(number)
        ok = False
    return ManifestItem(number, str(raw_id), split, media, labels) if ok else None


def _check_items(items: list[ManifestItem], problems: dict[str, list[int]]) -> None:
    """Problems between lines: duplicate ids."""
    first: dict[str, int] = {}
    for item in items:
        if item.id in first:
            problems["a duplicate id"].append(item.line)
        else:
            first[item.id] = item.line


def _label_values(items: list[ManifestItem], problems: dict[str, list[int]]
                  ) -> dict[str, tuple[Label, ...]]:
    """Every label column's values in numbering order; checks that test items are labelled
    in every column and that no column mixes strings and integers."""
    columns: dict[str, set[Label]] = {}
    for item in items:
        for column, value in item.labels.items():
            columns.setdefault(column, set()).add(value)
    for item in items:
        if item.split == "test" and set(item.labels) != set(columns):
            problems["a test item without labels for every column"].append(item.line)
    mixed = [c for c, values in columns.items() if len({type(v) for v in values}) > 1]
    for item in items:
        if any(c in item.labels for c in mixed):
            problems["a label column mixing strings and integers"].append(item.line)
        if any(isinstance(v, int) and v < 0 for v in item.labels.values()):
            problems["a negative integer label"].append(item.line)
    return {column: _numbering(values) for column, values in columns.items()
            if column not in mixed}


def _numbering(values: set[Label]) -> tuple[Label, ...]:
    """A column's values in the order they are numbered: integers are their own index
    (``0 .. max``, values that never occur included), strings in sorted order."""
    if all(isinstance(v, int) for v in values):
        return tuple(range(max(values) + 1))
    return tuple(sorted(values))


def raise_first(path: Path, problems: dict[str, list[int]],
                fixes: dict[str, str] | None = None) -> None:
    """Raise BadData for the kind of problem met first in the file (all its lines listed),
    with its fix from ``fixes`` (the manifest's own by default); nothing when none."""
    if not problems:
        return
    problem, lines = min(problems.items(), key=lambda kv: kv[1][0])
    raise BadData(path, problem, lines, (fixes or _FIXES).get(problem, ""))


def require_test_items(manifest: Manifest) -> None:
    """A dataset needs test items to score anything."""
    if not manifest.split("test"):
        raise BadData(manifest.path, 'no test items', fix='mark the items to evaluate on with '
                      '"split": "test" (each with every modality the tasks need)')

"""Precomputed embeddings: a dataset that arrives as per-modality feature vectors, no media.

An embeddings folder holds::

    manifest.jsonl          one JSON object per item (benchmark/data/manifest.py, "flags")
    train.text.npy          one array per split and modality: {split}.{modality}.npy
    train.image.npy
    train.audio.npy
    test.text.npy  test.image.npy  test.audio.npy

- ``manifest.jsonl``: ``{"id": "17", "split": "train", "text": true, "image": true,
  "labels": {"sign": "pos"}}`` - ``text``/``image``/``audio`` are ``true`` when the item
  has that modality (absent, ``null`` or ``false``: it lacks it); the flags *are* the
  pairing. Labels are optional categorical columns; every test item carries every column.
- ``{split}.{modality}.npy``: float16, float32 or float64, shape ``[N_split, D_m]`` where
  ``N_split`` is the number of manifest items of that split and row ``i`` belongs to the
  split's ``i``-th item in manifest order. Rows of items that lack the modality are
  ignored (any values; zeros by convention). ``D_m`` may differ between modalities but is
  the same in both splits. An array may be left out only when no item of its split has
  the modality. Every modality needs at least one training item.

:class:`PrecomputedEmbeddings` (``dataset.py``) reads such a folder as a
:class:`~benchmark.core.feature_split.FeatureSplit` per split; ``folder.py`` validates
and writes the format; ``flowbind_npz.py`` imports FlowBind's one-``.npz``-per-item
feature folders; ``example.py`` writes a small synthetic folder.
"""

from benchmark.data.embeddings.dataset import PrecomputedEmbeddings
from benchmark.data.embeddings.folder import write_embeddings_folder

__all__ = ["PrecomputedEmbeddings", "write_embeddings_folder"]

"""``--dataset NAME|DIR``: how a folder is recognised, the paper presets on 768-d
embeddings, and reports that refuse to mix datasets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.core.feature_split import FeatureSplit
from benchmark.data import dataset_choice
from benchmark.data.embeddings import write_embeddings_folder
from benchmark.data.folder import MediaFolder
from benchmark.report.collection import load_collection
from benchmark.run.resolution import resolve
from support.paths import ROOT

EXAMPLE_SUITE = ROOT / "results" / "example-suite"


def _features(folder: Path, width: int) -> Path:
    """A tiny embeddings folder: 8 training pairs of each kind, 4 test triplets."""
    rng = np.random.default_rng(0)
    present = {"train": np.repeat([[1, 1, 0], [1, 0, 1], [0, 1, 1]], 8, axis=0).astype(bool),
               "test": np.ones((4, 3), dtype=bool)}
    splits = {name: FeatureSplit(
        embeddings={m: rng.standard_normal((len(p), width)).astype(np.float32)
                    for m in ("text", "image", "audio")},
        present=p, attributes=np.zeros((len(p), 0), dtype=np.int64),
        attribute_names=(), attribute_sizes=()) for name, p in present.items()}
    write_embeddings_folder(folder, splits)
    return folder


def test_names_and_folders_are_recognised(tmp_path: Path) -> None:
    assert dataset_choice("scenes") == ("scenes", {})
    media = Path(MediaFolder.small_example(tmp_path / "media")["path"])
    assert dataset_choice(str(media)) == ("folder", {"path": str(media.resolve())})
    features = _features(tmp_path / "features", 4)
    assert dataset_choice(str(features)) == ("embeddings", {"path": str(features.resolve())})


def test_what_is_not_a_dataset_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no dataset folder at"):
        dataset_choice(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="did you mean 'scenes'"):
        dataset_choice("scenez")
    npz = tmp_path / "feats"
    npz.mkdir()
    np.savez(npz / "0.npz", text=np.zeros(3))
    with pytest.raises(UserError, match="import-npz"):
        dataset_choice(str(npz))
    with pytest.raises(UserError, match=r"no manifest\.jsonl"):
        dataset_choice(str(tmp_path))


def test_paper_presets_run_on_768_d_embeddings_only(tmp_path: Path) -> None:
    paper = _features(tmp_path / "paper", 768)
    for method in ("flowbind", "cfm"):
        resolved = resolve(RunConfig(method=method, task="text2image", preset="paper",
                                     dataset=str(paper)))
        assert resolved.profile.dataset == "embeddings"
    with pytest.raises(UserError, match="768"):
        resolve(RunConfig(method="flowbind", task="text2image", preset="paper",
                          dataset=str(_features(tmp_path / "small", 16))))


def test_a_report_refuses_runs_on_two_datasets(tmp_path: Path) -> None:
    [first, second] = sorted(EXAMPLE_SUITE.glob("*-flowbind-text2image-*.json"))[:2]
    for path in (first, second):
        shutil.copy(path, tmp_path / path.name)
    load_collection(tmp_path)  # one dataset: fine
    record = json.loads((tmp_path / second.name).read_text())
    record["config"]["dataset"] = {"name": "folder", "settings": {"path": "/data/pets"},
                                   "key": "0123abcd"}
    (tmp_path / second.name).write_text(json.dumps(record))
    with pytest.raises(UserError, match=r"2 datasets .*own --results folder"):
        load_collection(tmp_path)

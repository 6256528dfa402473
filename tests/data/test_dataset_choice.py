"""``--dataset NAME|DIR``: how a folder is recognised, the paper presets on 768-d
embeddings, and reports that refuse to mix datasets."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.core.feature_split import FeatureSplit
from benchmark.data import dataset_choice
from benchmark.data.embeddings import write_embeddings_folder
from benchmark.data.folder import MediaFolder
from benchmark.report.collection import load_collection
from benchmark.run import in_process
from benchmark.run.pipeline import keyed_by_content
from benchmark.run.resolution import dataset_key, resolve
from benchmark.sweep.planning import plan
from support.handmade_folder import write_handmade_folder
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


def _run_key(dataset: Path) -> str:
    """The run key a sweep plans for flowbind image2text seed 0 on ``--dataset dataset``."""
    (config,), _ = plan(["flowbind"], ["image2text"], [0], dataset=str(dataset))
    return config.run_key()


def test_a_dataset_folder_enters_the_run_key_by_its_content(tmp_path: Path,
                                                            monkeypatch) -> None:
    """Before: the run key held the folder's path, so a sweep resumed after the folder's
    content changed skipped the runs made on the old content, and a copy of the folder
    elsewhere ran everything again."""
    folder = write_handmade_folder(tmp_path / "pets", n_train=12, n_test=6)
    before = _run_key(folder)
    copy = shutil.copytree(folder, tmp_path / "elsewhere" / "my-pets")
    assert _run_key(copy) == before  # the same content, wherever it is: the same runs

    first, second = sorted((folder / "pictures").glob("*.png"))[:2]
    shutil.copy(second, first)  # one image's content changes, every name stays
    changed = _run_key(folder)
    assert changed != before
    assert _run_key(copy) == before

    # `run --dataset DIR` (a sweep's run process) keys its run as the sweep planned it
    made = []
    monkeypatch.setattr(in_process, "run_in_process",
                        lambda configs, *_: made.extend(configs) or 0)
    assert main(["run", "--method", "flowbind", "--task", "image2text", "--dataset",
                 str(folder), "--results", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert [config.run_key() for config in made] == [changed]


def test_run_keys_without_a_dataset_are_those_of_the_committed_records() -> None:
    """Every committed record made without ``--dataset`` keeps its run key (baselines and
    resumed sweeps find them by it)."""
    names = {field.name for field in fields(RunConfig)}
    checked = 0
    for path in sorted((ROOT / "results").rglob("*.json")):
        record = json.loads(path.read_text())
        run = record.get("config", {}).get("run")
        if not run or run.get("dataset") is not None or "run_key" not in record:
            continue
        config = RunConfig(**{name: value for name, value in run.items() if name in names})
        assert config.run_key() == record["run_key"], path
        checked += 1
    assert checked > 100


def test_a_run_planned_on_other_content_of_its_folder_is_refused(tmp_path: Path) -> None:
    """A run keyed by a folder's content that changed before the run loaded it would
    write a record under the key of data it never saw (``run_tasks`` checks it); a config
    made without the key (in-process callers) gets it from the data loaded."""
    folder = Path(MediaFolder.small_example(tmp_path / "media")["path"])
    planned = RunConfig("flowbind", "image2text", dataset=str(folder),
                        dataset_key="folder-0123456789abcdef")
    with pytest.raises(UserError, match="changed since these runs were planned"):
        keyed_by_content([planned], MediaFolder(path=folder))
    (filled,) = keyed_by_content([replace(planned, dataset_key=None)], MediaFolder(path=folder))
    assert filled.dataset_key == dataset_key(str(folder)) != planned.dataset_key

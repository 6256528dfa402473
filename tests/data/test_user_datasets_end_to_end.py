"""Users' datasets end to end: a scenes export run as a folder scores exactly like scenes,
and every method runs every directed task on precomputed embeddings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.core.config import RunConfig
from benchmark.core.errors import RefusedTask
from benchmark.core.tasks import all_tasks
from benchmark.data.embeddings import PrecomputedEmbeddings
from benchmark.results.records import read_record
from benchmark.run.pipeline import run_tasks
from methods import METHODS

DIRECTED = [task.name for task in all_tasks() if task.kind == "directed"]
MEDIA_METRICS = ("attr_acc", "fid", "fad", "cider_d", "clip", "clap", "ais")


@pytest.fixture
def smoke_cache(smoke_env: dict[str, str], monkeypatch) -> Path:
    """The session's prepared smoke cache, for runs in this process."""
    monkeypatch.setenv("ANYBENCH_CACHE", smoke_env["ANYBENCH_CACHE"])
    return Path(smoke_env["ANYBENCH_CACHE"])


def _run(tmp_path: Path, name: str, *flags: str) -> dict:
    results = tmp_path / name
    assert main(["run", "--method", "flowbind", "--task", "audio2image", "--profile", "smoke",
                 "--results", str(results), "--steps", "20", "--no-progress", *flags]) == 0
    [path] = results.glob("*-s0-*.json")
    return json.loads(path.read_text())


def _by_metric(values: dict[str, dict]) -> dict[str, dict]:
    """Metric values keyed without their evaluator (whose name carries the dataset's)."""
    return {re.sub(r"\[.*\]$", "", metric_id): value for metric_id, value in values.items()}


def test_an_exported_scenes_folder_scores_exactly_like_scenes(smoke_cache, tmp_path) -> None:
    folder = tmp_path / "scenes-folder"
    assert main(["export", "--dataset", "scenes", "--profile", "smoke", "--to", str(folder),
                 "--no-progress"]) == 0
    scenes = _run(tmp_path, "scenes")
    exported = _run(tmp_path, "folder", "--dataset", str(folder))
    assert exported["config"]["dataset"]["name"] == "folder"
    assert exported["config"]["dataset"]["counts"] == scenes["config"]["dataset"]["counts"]
    for row in ("metrics", "judges"):
        assert _by_metric(exported[row]) == _by_metric(scenes[row])
    for row in ("oracle", "chance"):
        assert (_by_metric(exported["references"][row])
                == _by_metric(scenes["references"][row]))
    assert _by_metric(scenes["metrics"])["image.attr_acc"]["n"] == 100


@pytest.fixture
def scenes_features(smoke_cache, tmp_path) -> Path:
    """The smoke profile's scenes embeddings written out as a precomputed-embeddings folder."""
    folder = tmp_path / "scenes-features"
    assert main(["export", "--dataset", "scenes", "--profile", "smoke", "--format",
                 "embeddings", "--to", str(folder), "--no-progress"]) == 0
    return folder


def test_every_method_runs_every_directed_task_on_precomputed_embeddings(
        scenes_features, tmp_path) -> None:
    for method in METHODS.names():
        for task in DIRECTED:
            config = RunConfig(method=method, task=task, profile="smoke", steps=5,
                               dataset=str(scenes_features), results_dir=tmp_path / "runs",
                               progress=False)
            [(record, _)] = run_tasks([config])
            target = task.split("2")[1]
            for metric in ("emb_fd", "emb_cos", "emb_r_at_1"):
                assert f"{target}.{metric}" in _by_metric(record.metrics), (method, task)
            assert all(m.split(".")[1].split("[")[0].startswith("emb_")
                       for m in record.metrics), (method, task, list(record.metrics))
            skipped = {key.split(".")[1] for key in record.skipped_metrics}
            assert skipped & set(MEDIA_METRICS), (method, task, record.skipped_metrics)
            assert record.config["dataset"]["kind"] == "embeddings"
            assert record.samples_file is not None
    assert main(["report", "--results", str(tmp_path / "runs"), "--out",
                 str(tmp_path / "report")]) == 0
    table = (tmp_path / "report" / "runs" / "table.md").read_text()
    assert "decoder-free metrics" in table and "T→I emb_cos" in table


def test_a_planted_linear_relation_is_learned_and_flowbind_refuses_unequal_widths(
        smoke_cache, tmp_path) -> None:
    """The embeddings example: modalities of widths 12, 16 and 10 that are linear images of
    one latent; CFM learns text2image well above the chance row, FlowBind refuses."""
    settings = PrecomputedEmbeddings.small_example(tmp_path / "planted")
    config = RunConfig(method="cfm", task="text2image", profile="smoke", steps=300,
                       dataset=settings["path"], results_dir=tmp_path / "runs",
                       progress=False)
    [(record, path)] = run_tasks([config])
    cosine = _by_metric(record.metrics)["image.emb_cos"]["value"]
    chance = _by_metric(record.references["chance"])["image.emb_cos"]["value"]
    assert cosine > chance + 0.3, (cosine, chance)
    assert read_record(path).skipped_metrics["image.fid"]
    with pytest.raises(RefusedTask, match="one embedding width"):
        run_tasks([RunConfig(method="flowbind", task="text2image", profile="smoke",
                             dataset=settings["path"], results_dir=tmp_path / "runs")])

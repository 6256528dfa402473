"""One whole run through the CLI on the smoke profile: every stage, a record, a table."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.results.records import media_settings, read_features, read_record
from support.paths import FIXTURES


def test_smoke_run_writes_a_complete_record(tmp_path, smoke_env):
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--method", "flowbind",
         "--task", "audio2image", "--profile", "smoke", "--results", str(tmp_path / "runs"),
         "--no-progress"],
        capture_output=True, text=True, env=smoke_env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = list(Path(tmp_path / "runs").glob("*.json"))
    assert len(list(Path(tmp_path / "runs").glob("*.per_sample.npz"))) == 1
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["status"] == "ok"
    assert (record["dataset"], record["schema_version"]) == ("scenes:smoke", 3)
    assert record["config"]["dataset"]["settings"]["n_train"] == 1200
    assert record["config"]["dataset"]["counts"]["test"] == {"items": 100,
                                                             "text+image+audio": 100}
    assert record["budget"]["skipped_batches"] == 0
    assert media_settings(read_record(records[0])) == {"sample_rate": 8000}
    assert record["budget"]["used"] == record["budget"]["value"] == 100
    log = records[0].parent / record["training_log"]
    assert log.is_file() and record["training_log"].startswith("logs/")
    assert record["provenance"]["lock"]["file"] == "requirements.lock"
    assert record["provenance"]["lock"]["sha256"]
    hardware = record["provenance"]["hardware"]
    assert hardware["usable_cpus"] >= 1 and hardware["torch_threads"] >= 1
    assert len(hardware["load_at_start"]) == 3  # 1-, 5- and 15-minute load averages
    stages = record["timing"]["stages"]  # where evaluation time went, self seconds per stage
    assert {"sample", "evaluate/decode/image", "evaluate/metric/fid", "checkpoints"} <= set(stages)
    assert record["timing"]["curve_eval_s"] == pytest.approx(
        sum(s for path, s in stages.items() if path.startswith("checkpoints")), abs=0.01)
    timing = record["timing"]  # the process clock: start-up, preparation, record made at
    assert 0 < timing["start_s"] < timing["start_s"] + timing["prepare_s"]
    assert timing["recorded_at_s"] > (timing["start_s"] + timing["prepare_s"] + timing["train_s"]
                                      + timing["sample_s"] + timing["eval_s"])
    assert set(record["references"]) == {"oracle", "chance"}
    ids = set(record["metrics"])
    per_column = {f"image.attr_acc_{column}[judge:scenes-v1]"
                  for column in ("shape", "colour", "size", "position")}
    assert ids == {
        "image.attr_acc[judge:scenes-v1]",
        *per_column,
        "image.fid[judge:scenes-v1]",
        "image.kid[judge:scenes-v1]",
        "image.ais[contrastive-judge:scenes-v1]",
        "image.emb_fd[backbone:scenes-v1]",
        "image.emb_cos[backbone:scenes-v1]",
        "image.emb_r_at_1[backbone:scenes-v1]",
    }
    for row in (record["metrics"], *record["references"].values()):
        assert set(row) == ids
        for name, value in row.items():
            assert value["n"] == 100
            if "kid" not in name:
                assert value["ci_low"] <= value["value"] <= value["ci_high"]
    assert set(record["judges"]) == {
        "image.attr_acc[judge:scenes-v1]",
        *per_column,
        "image.ais[contrastive-judge:scenes-v1]",
        "audio2image.r_at_1[contrastive-judge:scenes-v1]",
    }
    samples = np.load(records[0].parent / record["samples_file"])
    assert samples["source/audio"].shape == (6, 6000)
    assert samples["generated/image"].shape == samples["truth/image"].shape == (6, 32, 32, 3)
    assert record["extra"]["single_stage"] is True
    fid = record["metrics"]["image.fid[judge:scenes-v1]"]
    assert fid["fd_inf"]["sizes"][-1] == fid["n"] == 100 and 0 <= fid["fd_inf"]["r2"] <= 1
    assert set(record["features"]) == {"image.fid[judge:scenes-v1]",
                                       "image.kid[judge:scenes-v1]",
                                       "image.emb_fd[backbone:scenes-v1]"}
    generated, reference = read_features(records[0].parent, read_record(records[0]),
                                         "image.fid[judge:scenes-v1]")
    assert generated.shape == reference.shape and len(generated) == 100
    per_sample = np.load(records[0].parent / record["per_sample_file"])
    assert per_sample["generated/image.attr_acc[judge:scenes-v1]"].shape == (100,)
    assert "real/image.ais[contrastive-judge:scenes-v1]" in per_sample
    curve = record["curve"]
    assert [point["fraction"] for point in curve] == [1 / 8, 1 / 4, 1 / 2, 1.0]
    assert [point["steps"] for point in curve] == [13, 25, 50, 100]
    assert all(set(point["metrics"]) == ids for point in curve)
    values_only = {k: {"value": v["value"], "n": v["n"], "ci_low": None, "ci_high": None}
                   for k, v in record["metrics"].items()}
    assert curve[-1]["metrics"] == values_only  # curve points skip the resampling
    assert all(v["ci_low"] is None for point in curve for v in point["metrics"].values())
    assert curve[0]["metrics"] != values_only
    assert record["params"]["paper_preset_trainable"] == 567_972_864
    assert record["params"]["suite_tasks"] == 12
    assert "| flowbind (tiny, seed 0) | oracle | chance | real (ceiling) |" in result.stdout


def test_prepare_prints_every_evaluator_ceiling(tmp_path, smoke_env):
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "prepare", "--profile", "smoke",
         "--preview", str(tmp_path / "preview")],
        capture_output=True, text=True, env=smoke_env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("text.attr_acc[judge:scenes-v1]", "audio.attr_acc[judge:scenes-v1]",
                 "image.clip[contrastive-judge:scenes-v1]",
                 "text.clap[contrastive-judge:scenes-v1]",
                 "audio.ais[contrastive-judge:scenes-v1]",
                 "image2text.r_at_1[contrastive-judge:scenes-v1]"):
        assert name in result.stdout
    assert (tmp_path / "preview" / "contact_sheet.png").exists()


def test_a_samples_budget_is_matched_across_methods(tmp_path, smoke_env):
    seen, references = {}, {}
    for method in ("flowbind", "joint"):
        result = subprocess.run(
            [sys.executable, "-m", "benchmark", "run", "--method", method, "--task",
             "text2image", "--profile", "smoke", "--budget", "samples=3000",
             "--results", str(tmp_path / method), "--no-progress"],
            capture_output=True, text=True, env=smoke_env, timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        (path,) = (tmp_path / method).glob("*-s0-*.json")
        budget = json.loads(path.read_text())["budget"]
        assert (budget["kind"], budget["value"]) == ("samples", 3000)
        assert budget["used"] == budget["samples"] >= 3000
        assert budget["steps"] > 0 and budget["flops"] > 0 and budget["seconds"] > 0
        assert budget["flops"] == budget["steps"] * budget["flops_per_step"]
        seen[method] = (budget["samples"], budget["samples"] / budget["steps"])
        references[method] = json.loads(path.read_text())["references"]
    (a, batch_a), (b, batch_b) = seen.values()
    assert abs(a - b) < max(batch_a, batch_b)
    assert references["flowbind"] == references["joint"]  # method-independent, cached


def test_suite_protocol_trains_once_and_writes_a_record_per_task(tmp_path, smoke_env):
    command = [sys.executable, "-m", "benchmark", "run", "--method", "crossflow", "--task",
               "audio2image,image2text", "--profile", "smoke", "--steps", "20",
               "--results", str(tmp_path), "--no-progress"]
    refused = subprocess.run(command, capture_output=True, text=True, env=smoke_env, timeout=300)
    assert refused.returncode == 2 and "--protocol suite" in refused.stderr

    result = subprocess.run([*command, "--protocol", "suite"], capture_output=True, text=True,
                            env=smoke_env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    assert sorted(r["task"] for r in records) == ["audio2image", "image2text"]
    assert all(r["protocol"] == "suite" for r in records)
    assert records[0]["budget"] == records[1]["budget"]  # one training
    params = records[0]["params"]
    assert params["trainable"] == params["suite_trainable"]  # all six pair models
    assert params["serve_task"] < params["trainable"]


def test_records_of_schema_2_give_their_sample_rate_too():
    """A record as the example suite of 2026-11-25 wrote it (kept in tests/fixtures/)."""
    record = read_record(FIXTURES / "record-schema-2.json")
    assert record.schema_version == 2
    assert media_settings(record) == {"sample_rate": 8000}

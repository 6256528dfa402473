"""The quality-vs-compute curve: every point, the final model's included, is scored on the
first CURVE_ITEMS test items, as values only (benchmark/scoring/quality_curve.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.config import RunConfig


def test_every_point_is_scored_on_the_same_first_items_without_intervals(
        smoke_env, tmp_path, monkeypatch):
    from benchmark.run import pipeline
    from benchmark.scoring import quality_curve

    monkeypatch.setenv("ANYBENCH_CACHE", smoke_env["ANYBENCH_CACHE"])
    monkeypatch.setattr(quality_curve, "CURVE_ITEMS", 30)  # the smoke test set holds 100
    config = RunConfig(method="flowbind", task="text2audio", profile="smoke", steps=8,
                       seed=0, results_dir=tmp_path, progress=False)
    [(record, _)] = pipeline.run_tasks([config])
    attr_acc = "audio.attr_acc[judge:scenes-v1]"
    assert record.metrics[attr_acc]["n"] == 100
    assert len(record.curve) == 4
    for point in record.curve:
        assert point["metrics"][attr_acc]["n"] == 30
        assert point["metrics"]["audio.fad[judge:scenes-v1]"]["n"] == 30
        assert all(v["ci_low"] is None and v["ci_high"] is None
                   for v in point["metrics"].values())
    assert set(record.curve[-1]["metrics"]) == set(record.metrics)
    assert record.timing["stages"]["checkpoints/decode/audio"] > 0


def test_the_first_items_reference_keeps_rows_and_labels_together(smoke_env, monkeypatch):
    from benchmark.profiles import PROFILES
    from benchmark.run.preparation import prepare_inputs
    from benchmark.scoring.evaluation import metric_specs
    from benchmark.scoring.task_evaluation import build_evaluators

    monkeypatch.setenv("ANYBENCH_CACHE", smoke_env["ANYBENCH_CACHE"])
    inputs = prepare_inputs(PROFILES.get("smoke"), progress=False)
    config = RunConfig(method="flowbind", task="text2audio", profile="smoke")
    reference = inputs.real_reference(build_evaluators(config, inputs), metric_specs())
    first = reference.first(7)
    assert reference.first(10_000) is reference
    assert len(first.test) == 7 and first.labels.shape[0] == 7
    assert np.array_equal(first.labels, reference.labels[:7])
    assert np.array_equal(first.test.audio, reference.test.audio[:7])
    for modality, embeddings in first.embeddings.items():
        assert np.array_equal(embeddings, reference.embeddings[modality][:7])
    assert first.label_names == reference.label_names and first.metrics == reference.metrics


@pytest.mark.parametrize("items", [0, -1])
def test_first_needs_at_least_one_item(items):
    from benchmark.scoring.evaluation import RealReference
    from metrics.evaluators.evaluator_set import Evaluators

    reference = RealReference(test=None, embeddings={"image": np.zeros((5, 2))},
                              evaluators=Evaluators("embedded", {}, {}, {}, None),
                              embedding_evaluator="embeddings:x")
    with pytest.raises(ValueError, match="at least one test item"):
        reference.first(items)

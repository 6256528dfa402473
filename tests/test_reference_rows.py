"""The method-independent reference rows are computed once per key and then reused."""

import numpy as np
import pytest

from benchmark import reference_rows as module
from benchmark.core.tasks import parse_task
from benchmark.profiles import PROFILES
from metrics.value import MetricValue


@pytest.fixture
def computed(monkeypatch, tmp_path):
    """Count the computations; each one returns rows that carry its seed."""
    monkeypatch.setenv("ANYBENCH_CACHE", str(tmp_path))
    calls = []

    def compute(task, seed, inputs, reference):
        calls.append((task.name, seed))
        value = MetricValue(float(seed), 3, 0.0, 1.0, per_sample=np.arange(3.0))
        return module.ReferenceRows({"a": value}, {"b": value}, {"c": value})

    monkeypatch.setattr(module, "compute_reference_rows", compute)
    return calls


def _rows(seed=0, evaluator="embedded", task="text2image"):
    return module.reference_rows(parse_task(task), seed, PROFILES.get("smoke"), evaluator,
                                 inputs=None, reference=None)


def test_a_second_request_reads_the_cache(computed):
    first = _rows()
    second = _rows()
    assert computed == [("text2image", 0)]
    assert second == first
    np.testing.assert_array_equal(second.oracle["a"].per_sample, np.arange(3.0))


def test_seed_task_and_code_changes_recompute(computed, monkeypatch):
    _rows(seed=0)
    _rows(seed=1)
    _rows(task="audio2image")
    monkeypatch.setattr(module, "evaluation_code_fingerprint", lambda: "edited")
    _rows(seed=0)
    assert computed == [("text2image", 0), ("text2image", 1), ("audio2image", 0),
                        ("text2image", 0)]


def test_pretrained_evaluators_are_never_cached(computed):
    _rows(evaluator="pretrained")
    _rows(evaluator="pretrained")
    assert len(computed) == 2


def test_the_fingerprint_changes_with_any_metrics_source(tmp_path):
    for name in ("benchmark/evaluation.py", "benchmark/reference_rows.py", "metrics/fid.py",
                 "benchmark/backbones/audio.py", "benchmark/core/media/logmel.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    before = module.evaluation_code_fingerprint(tmp_path)
    assert module.evaluation_code_fingerprint(tmp_path) == before
    (tmp_path / "metrics" / "fid.py").write_text("x = 2\n")
    after_metric = module.evaluation_code_fingerprint(tmp_path)
    assert after_metric != before
    (tmp_path / "benchmark" / "media" / "logmel.py").write_text("x = 2\n")  # a decoder
    assert module.evaluation_code_fingerprint(tmp_path) != after_metric

"""The method-independent reference rows are computed once per key and then reused."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from benchmark.core.tasks import parse_task
from benchmark.profiles import PROFILES
from benchmark.scoring import reference_rows as module
from metrics import METRICS
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


def _rows(seed=0, evaluator="embedded", task="text2image", metrics=("fid", "clip"),
          dataset_key="scenes-0"):
    reference = SimpleNamespace(metrics=[METRICS.get(name) for name in metrics])
    inputs = SimpleNamespace(dataset=SimpleNamespace(key=lambda: dataset_key))
    return module.reference_rows(parse_task(task), seed, PROFILES.get("smoke"), evaluator,
                                 inputs=inputs, reference=reference)


def test_a_second_request_reads_the_cache(computed):
    first = _rows()
    second = _rows()
    assert computed == [("text2image", 0)]
    assert second == first
    np.testing.assert_array_equal(second.oracle["a"].per_sample, np.arange(3.0))


def test_seed_task_data_and_code_changes_recompute(computed, monkeypatch):
    _rows(seed=0)
    _rows(seed=1)
    _rows(task="audio2image")
    _rows(seed=0, dataset_key="scenes-1")  # the dataset's content changed, not the profile
    monkeypatch.setattr(module, "evaluation_code_fingerprint", lambda: "edited")
    _rows(seed=0)
    _rows(seed=0, metrics=("fid",))  # another set of scored metrics
    assert computed == [("text2image", 0), ("text2image", 1), ("audio2image", 0),
                        ("text2image", 0), ("text2image", 0), ("text2image", 0)]


def test_a_plug_in_metric_file_is_part_of_the_key(tmp_path):
    plug_in = tmp_path / "my_metric.py"
    plug_in.write_text("def compute(inputs):\n    return 1.0\n")
    namespace = {}
    exec(compile(plug_in.read_text(), str(plug_in), "exec"), namespace)
    spec = replace(METRICS.get("fid"), name="mine", compute=namespace["compute"])
    before = module.metrics_fingerprint([METRICS.get("fid"), spec])
    assert before[0] == "fid:"  # the repository's own code is in the code fingerprint
    plug_in.write_text("def compute(inputs):\n    return 2.0\n")
    assert module.metrics_fingerprint([METRICS.get("fid"), spec]) != before


def test_pretrained_evaluators_are_never_cached(computed):
    _rows(evaluator="pretrained")
    _rows(evaluator="pretrained")
    assert len(computed) == 2


def test_the_fingerprint_changes_with_any_evaluation_source(tmp_path):
    sources = ("benchmark/scoring/evaluation.py", "benchmark/scoring/reference_rows.py",
               "metrics/fid.py", "metrics/evaluators/attribute_judges.py",
               "benchmark/backbones/audio.py", "benchmark/core/media/logmel.py",
               "benchmark/core/media_split.py")
    for name in sources:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    seen = {module.evaluation_code_fingerprint(tmp_path)}
    assert module.evaluation_code_fingerprint(tmp_path) in seen
    for name in sources:  # a metric, an evaluator, a decoder, the media code
        (tmp_path / name).write_text("x = 2\n")
        seen.add(module.evaluation_code_fingerprint(tmp_path))
    assert len(seen) == 1 + len(sources)

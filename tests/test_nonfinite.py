"""NaN and infinity never pass as numbers: they are drift in ``check``, a NaN cell and a named
problem in ``report`` and the sweep summary, and a failed run (``NonFiniteOutput``) when a
method's training loss or generated embeddings hold them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F
from conftest import fit, partially_paired_batch
from torch import nn

from benchmark.check import compare, diff_table, load_baseline, make_baseline, write_baseline
from benchmark.core.config import RunConfig
from benchmark.core.errors import NonFiniteOutput, UserError
from benchmark.report import write_report
from benchmark.report.aggregate import non_finite_values, results_frame, seed_statistics
from benchmark.report.tables import headline_table, to_markdown
from benchmark.results.records import RunRecord, write_record
from benchmark.results.summary import sweep_table
from benchmark.scoring.sampling import require_finite
from methods.base import AnyToAnyMethod, MethodConfig, Objective, paired_rows

NAN, INF = float("nan"), float("inf")
ATTR = "image.attr_acc[judge:scenes-v1]"
FID = "image.fid[judge:scenes-v1]"


def _value(value: float) -> dict:
    return {"value": value, "n": 100, "ci_low": value - 0.01, "ci_high": value + 0.01}


def _record(method: str, seed: int, attr: float, fid: float = 5.0) -> RunRecord:
    return RunRecord(
        run_id=f"2026-{method}-text2image-s{seed}", method=method, task="text2image",
        dataset="scenes:smoke", preset="tiny", seed=seed, status="ok",
        budget={"kind": "samples", "value": 1000, "used": 1024, "samples": 1024, "steps": 4,
                "flops": 4e9, "seconds": 1.5, "flops_per_step": 1e9},
        params={"trainable": 10, "serve_task": 5, "serve_suite": 8, "suite_tasks": 12,
                "suite_trainable": 10, "paper_preset_trainable": None,
                "paper_preset_serve_suite": None},
        timing={"train_s": 1.5, "samples_per_s": 700.0},
        sampling={"steps": 20, "guidance": None, "n": 100},
        metrics={ATTR: _value(attr), FID: _value(fid)},
        references={"oracle": {ATTR: _value(0.9)}, "chance": {ATTR: _value(0.3)}},
        judges={ATTR: _value(1.0)},
        config={"run": {"profile": "smoke", "budget": None, "evaluator": "embedded"}},
        provenance={}, protocol="task", run_key=f"{method}-{seed}",
        extra={"single_stage": True},
    )


SWEEP = {"methods": ["a"], "tasks": ["text2image"], "seeds": [0, 1, 2], "profile": "smoke",
         "budget": None, "protocol": "task"}
FINITE = [_record("a", 0, 0.80), _record("a", 1, 0.83), _record("a", 2, 0.77)]
ATTR_KEY = f"a/text2image/{ATTR}"

# ------------------------------------------------------------------------------ check


def test_a_nan_value_now_is_drift():
    """Before: NaN compared false with the tolerance, so ``nan ... ok, 0 drifted``."""
    baseline = make_baseline("demo", SWEEP, FINITE)
    now = [_record("a", 0, NAN), *FINITE[1:]]
    by_key = {c.key: c for c in compare(baseline, now)}
    assert by_key[ATTR_KEY].drifted and by_key[ATTR_KEY].status == "DRIFT (NaN now)"
    assert not by_key[f"a/text2image/{FID}"].drifted
    assert "DRIFT (NaN now)" in diff_table(list(by_key.values()))


@pytest.mark.parametrize(("field", "value", "status"), [
    ("tolerance", NAN, "DRIFT (NaN tolerance)"),
    ("mean", NAN, "DRIFT (NaN baseline)"),
    ("tolerance", INF, "DRIFT (inf tolerance)"),
    ("mean", -INF, "DRIFT (-inf baseline)"),
])
def test_a_non_finite_baseline_mean_or_tolerance_never_passes(field, value, status):
    """Before: a NaN tolerance passed a difference of 1e9."""
    baseline = make_baseline("demo", SWEEP, FINITE)
    baseline["metrics"][ATTR_KEY][field] = value
    moved = [_record("a", s, 1e9) for s in (0, 1, 2)]
    for records in (FINITE, moved):
        (comparison,) = [c for c in compare(baseline, records) if c.key == ATTR_KEY]
        assert comparison.drifted and comparison.status == status


def test_an_infinite_value_now_is_drift():
    baseline = make_baseline("demo", SWEEP, FINITE)
    now = [_record("a", 0, INF), *FINITE[1:]]
    (comparison,) = [c for c in compare(baseline, now) if c.key == ATTR_KEY]
    assert comparison.status == "DRIFT (inf now)"


def test_no_baseline_is_made_from_non_finite_values():
    with pytest.raises(UserError, match=rf"non-finite values \(a/text2image/{FID} seed 1 = nan; "
                                        rf"a/text2image/{FID} seed 2 = inf\)".replace("[", r"\[")
                       .replace("]", r"\]")):
        make_baseline("demo", SWEEP, [FINITE[0], _record("a", 1, 0.8, fid=NAN),
                                      _record("a", 2, 0.8, fid=INF)])


@pytest.mark.parametrize("absent", ["tolerance", "mean", "seeds", "sd"])
def test_a_baseline_entry_without_a_key_is_a_one_line_error(tmp_path, absent):
    """Before: ``KeyError: 'tolerance'`` with a traceback and exit status 1, as drift."""
    path = tmp_path / "demo.json"
    baseline = make_baseline("demo", SWEEP, FINITE)
    del baseline["metrics"][ATTR_KEY][absent]
    write_baseline(path, baseline)
    with pytest.raises(UserError, match=rf"baseline entry 'a/text2image/image.attr_acc.*' "
                                        rf"lacks '{absent}': re-make the baseline with .*--update"):
        load_baseline(path)
    assert load_baseline(path, entries=False)["sweep"]["seeds"] == [0, 1, 2]  # --update reads it
    result = subprocess.run([sys.executable, "-m", "benchmark", "check", "--baseline", str(path),
                             "--results", str(tmp_path / "runs"), "--no-progress"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and f"lacks '{absent}'" in result.stderr


@pytest.mark.parametrize(("entry", "problem"), [
    ({"seeds": [0], "mean": "0.8", "sd": 0.0, "tolerance": 1e-6}, "has 'mean' '0.8', not a number"),
    ({"seeds": "0", "mean": 0.8, "sd": 0.0, "tolerance": 1e-6}, "has 'seeds' '0'"),
    ([0.8], "is not a JSON object"),
])
def test_a_malformed_baseline_entry_is_named(tmp_path, entry, problem):
    path = tmp_path / "demo.json"
    write_baseline(path, {"name": "demo", "sweep": SWEEP, "metrics": {ATTR_KEY: entry}})
    with pytest.raises(UserError, match=problem):
        load_baseline(path)


# ----------------------------------------------------------------------------- report


def test_one_non_finite_seed_makes_the_report_cell_nan_and_names_the_run(tmp_path):
    """Before: pandas skipped the NaN and averaged the other seeds with no mark."""
    records = [*FINITE, _record("b", 0, 0.5), _record("b", 1, NAN), _record("b", 2, 0.52)]
    frame = results_frame(records)
    generated = seed_statistics(frame[frame["row"] == "generated"], ["method", "metric_id"])
    b_attr = generated[(generated["method"] == "b") & (generated["metric_id"] == ATTR)].iloc[0]
    assert math.isnan(b_attr["mean"]) and math.isnan(b_attr["sd"]) and b_attr["seeds"] == 3
    table = to_markdown(headline_table(frame))
    assert "| a | 0.800 ± 0.030 |" in table  # no runner-up to be separated from: no bold
    assert "| b | NaN | 5.000 ± 0.000 |" in table
    assert non_finite_values(frame) == [f"non-finite value: b text2image seed 1 {ATTR} = nan"]

    folder = tmp_path / "runs"
    for record in records:
        write_record(record, folder)
    report = write_report(folder, tmp_path / "report")
    assert f"non-finite value: b text2image seed 1 {ATTR} = nan" in report.problems
    markdown = (report.folder / "table.md").read_text()
    assert f"Not in this report: non-finite value: b text2image seed 1 {ATTR}" in markdown
    assert "| b | NaN |" in markdown


def test_an_infinite_reference_value_is_named_with_its_row():
    record = _record("a", 0, 0.8)
    record.references["oracle"][ATTR] = _value(INF)
    assert non_finite_values(results_frame([record])) == [
        f"non-finite value: a text2image seed 0 {ATTR} (oracle row) = inf"]


def test_the_sweep_summary_shows_nan_for_a_non_finite_seed():
    table = sweep_table([*FINITE, _record("b", 0, 0.5), _record("b", 1, INF)])
    assert f"{ATTR} 0.800 +- 0.030" in table
    assert f"{ATTR} NaN" in table.splitlines()[2]


# ------------------------------------------------------------- failed runs: NaN outputs


def test_non_finite_generated_embeddings_fail_the_run():
    config = RunConfig(method="flowbind", task="text2image", seed=3)
    require_finite({"image": torch.zeros(4, 2)}, config)
    embeddings = torch.zeros(4, 2)
    embeddings[1, 0], embeddings[2, 1] = NAN, -INF
    with pytest.raises(NonFiniteOutput, match=r"^flowbind generated 2 non-finite values for "
                                              r"image \(seed 3\): the run failed$"):
        require_finite({"image": embeddings}, config)
    assert not issubclass(NonFiniteOutput, UserError)  # a run failure, not bad input


NAN_METHOD = '''
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methods.base import AnyToAnyMethod, MethodConfig, Objective, paired_rows


@dataclass(frozen=True, kw_only=True)
class NanConfig(MethodConfig):
    max_steps: int = 2
    sampling_steps: int = 1


class NanMap(AnyToAnyMethod):
    """Trains like a linear map; every generated value is NaN."""

    name = "nan_map"
    presets = {"tiny": NanConfig()}

    def build(self, tasks):
        self.maps = nn.ModuleDict({f"{s}->{t}": nn.Linear(self.dims[s], self.dims[t])
                                   for s in self.dims for t in self.dims if s != t})

    def objective(self, batch):
        losses = []
        for key, linear in self.maps.items():
            source, target = key.split("->")
            rows = paired_rows(batch, source, target)
            if rows.numel():
                losses.append(F.mse_loss(linear(batch[source][rows]), batch[target][rows]))
        return Objective(torch.stack(losses).sum())

    def sample(self, call):
        rows = next(iter(call.sources.values())).shape[0]
        return {t: torch.full((rows, self.dims[t]), float("nan")) for t in call.targets}

    def serving_parts(self, tasks):
        return list(self.maps.values())

    def velocity_networks(self):
        return list(self.maps.values())
'''


def test_a_method_generating_nan_fails_right_after_sampling(smoke_env, tmp_path, monkeypatch):
    """Before: the NaN embeddings were decoded and scored (AIS 0, a failed matrix square
    root for FID). Now the runner raises before scoring and writes no record."""
    from benchmark.run.pipeline import run_tasks

    monkeypatch.setenv("ANYBENCH_CACHE", smoke_env["ANYBENCH_CACHE"])
    method_file = tmp_path / "nan_map.py"
    method_file.write_text(NAN_METHOD)
    results = tmp_path / "runs"
    config = RunConfig(method=f"{method_file}:NanMap", task="audio2image", profile="smoke",
                       steps=2, seed=5, results_dir=results, progress=False)
    with pytest.raises(NonFiniteOutput, match=r"NanMap generated \d+ non-finite values for "
                                              r"image \(seed 5\): the run failed"):
        run_tasks([config])
    assert not list(results.glob("*.json"))


# ------------------------------------------------------------ failed runs: NaN in training


@pytest.mark.usefixtures("single_thread")
def test_a_non_finite_training_loss_fails_with_its_step():
    """Before: a NaN loss trained on silently (Lightning logs it and steps on)."""

    class TurnsNan(AnyToAnyMethod):
        name = "turns_nan"
        presets: ClassVar[dict] = {"tiny": MethodConfig(max_steps=5)}

        def build(self, tasks):
            self.map = nn.Linear(self.dims["text"], self.dims["image"])

        def objective(self, batch):
            rows = paired_rows(batch, "text", "image")
            loss = F.mse_loss(self.map(batch["text"][rows]), batch["image"][rows])
            return Objective(loss * NAN if self.global_step >= 3 else loss)

        def sample(self, call):
            return {"image": self.map(call.sources["text"])}

        def serving_parts(self, tasks):
            return [self.map]

        def velocity_networks(self):
            return [self.map]

    model = TurnsNan({"text": 8, "image": 8}, preset="tiny")
    batches = [partially_paired_batch(seed=i, patterns=[(True, True, False)]) for i in range(5)]
    with pytest.raises(NonFiniteOutput, match=r"^turns_nan's training loss became nan at step 3: "
                                              r"the run failed$"):
        fit(model, batches)


def test_nothing_changes_for_finite_records(tmp_path):
    """The finite path is untouched: same statistics, no problems, ``ok`` comparisons."""
    baseline = make_baseline("demo", SWEEP, FINITE)
    assert all(c.status == "ok" for c in compare(baseline, FINITE))
    frame = results_frame(FINITE)
    assert non_finite_values(frame) == []
    saved = tmp_path / "b.json"
    write_baseline(saved, baseline)
    assert json.loads(saved.read_text())["metrics"][ATTR_KEY]["values"] == [0.80, 0.83, 0.77]
    assert Path(saved).stat().st_size > 0

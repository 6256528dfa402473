"""The drift check: tolerances from the seed spread; exit 0 unchanged, 1 when perturbed."""

import json
import subprocess
import sys

import pytest

from benchmark.check import compare, make_baseline, tolerance, write_baseline
from benchmark.core.errors import UserError
from benchmark.results.records import RunRecord, read_record, write_record

ATTR = "image.attr_acc[judge:scenes-v1]"
SWEEP = {"methods": ["a"], "tasks": ["text2image"], "seeds": [0, 1, 2], "profile": "smoke",
         "budget": None, "protocol": "task"}


def _record(seed, attr, run_key="k"):
    return RunRecord(
        run_id=f"run-s{seed}", method="a", task="text2image", dataset="scenes:smoke",
        preset="tiny", seed=seed, status="ok", budget={}, params={}, timing={}, sampling={},
        metrics={ATTR: {"value": attr, "n": 100, "ci_low": None, "ci_high": None}},
        references={}, judges={}, config={}, provenance={}, run_key=f"{run_key}{seed}",
    )


RECORDS = [_record(0, 0.80), _record(1, 0.83), _record(2, 0.77)]


def test_tolerance_is_three_standard_errors_of_the_seed_mean():
    assert tolerance([0.80, 0.83, 0.77]) == pytest.approx(3 * 0.03 / 3 ** 0.5)
    assert tolerance([5.0, 5.0]) == pytest.approx(5e-6)  # seeds agree: rounding floor


def test_an_unchanged_rerun_passes_and_a_perturbed_one_drifts():
    baseline = make_baseline("demo", SWEEP, RECORDS)
    assert baseline["metrics"][f"a/text2image/{ATTR}"]["values"] == [0.80, 0.83, 0.77]
    assert not any(c.drifted for c in compare(baseline, RECORDS))
    within = [_record(0, 0.80 + 0.04), *RECORDS[1:]]  # mean moves 0.013 < tol 0.052
    assert not any(c.drifted for c in compare(baseline, within))
    beyond = [_record(0, 0.80 + 0.2), *RECORDS[1:]]  # mean moves 0.067 > tol
    (comparison,) = compare(baseline, beyond)
    assert comparison.drifted
    (missing,) = compare(baseline, RECORDS[:2])
    assert missing.drifted and missing.now is None


def _check(baseline, results):
    return subprocess.run(
        [sys.executable, "-m", "benchmark", "check", "--baseline", str(baseline),
         "--results", str(results), "--no-progress"],
        capture_output=True, text=True, timeout=120)


def test_the_cli_exits_0_without_drift_and_1_with_it(tmp_path):
    # Records whose run_key matches what the baseline's sweep plans, so nothing re-runs.
    from benchmark.sweep.planning import plan

    configs, _ = plan(["flowbind"], ["text2image"], [0, 1, 2], profile="smoke",
                      results_dir=tmp_path)
    sweep = {**SWEEP, "methods": ["flowbind"]}
    for config, value in zip(configs, (0.80, 0.83, 0.77), strict=True):
        record = _record(config.seed, value)
        record.method, record.run_key = "flowbind", config.run_key()
        record.run_id = f"flowbind-s{config.seed}"
        write_record(record, tmp_path)
    records = [read_record(p) for p in sorted(tmp_path.glob("*.json"))]
    baseline = tmp_path / "baselines" / "demo.json"
    write_baseline(baseline, make_baseline("demo", sweep, records))

    unchanged = _check(baseline, tmp_path)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "0 of 1 metrics drifted" in unchanged.stdout

    stored = json.loads(baseline.read_text())
    stored["metrics"][f"flowbind/text2image/{ATTR}"]["mean"] += 0.5
    baseline.write_text(json.dumps(stored))
    drifted = _check(baseline, tmp_path)
    assert drifted.returncode == 1
    assert "DRIFT" in drifted.stdout and "1 of 1 metrics drifted" in drifted.stdout


def test_a_missing_or_broken_baseline_is_a_clear_error(tmp_path):
    from benchmark.check import load_baseline

    with pytest.raises(UserError, match="--update"):
        load_baseline(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(UserError, match="not an anybench baseline"):
        load_baseline(tmp_path / "bad.json")

"""Records and baselines name their CPU; on another CPU a metric is compared within the
runs' own 95% interval."""

from pathlib import Path

import pytest
import torch

from benchmark.check import compare, comparison_record, make_baseline, rule_summary
from benchmark.core.cpu_identity import cpu_identity, describe
from benchmark.results.records import RunRecord
from benchmark.run.record import provenance

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse sse2 ssse3 sse4_1 fma avx avx2 avx512f hypervisor amx_tile aes

processor\t: 1
vendor_id\t: GenuineIntel
flags\t\t: fpu something_else
"""

THIS_CPU = {"model_name": "Xeon A", "family": "6", "model": "143", "simd": ["avx2"]}
OTHER_CPU = {"model_name": "Xeon B", "family": "6", "model": "106", "simd": ["avx2"]}
METRIC = "image.fid[judge:scenes-v1]"
KEY = f"a/audio2image/{METRIC}"


def test_the_identity_reads_the_first_processor_and_keeps_only_simd_flags():
    identity = cpu_identity(CPUINFO)
    assert identity["vendor"] == "GenuineIntel"
    assert (identity["family"], identity["model"]) == ("6", "143")
    assert identity["model_name"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert identity["simd"] == ["amx_tile", "avx", "avx2", "avx512f", "fma", "sse", "sse2",
                                "sse4_1", "ssse3"]
    assert identity["torch_capability"] == torch.backends.cpu.get_cpu_capability()
    assert "Platinum 8480+" in describe(identity) and "model 143" in describe(identity)


def test_a_record_names_the_cpu_it_ran_on():
    assert provenance("hash")["hardware"]["cpu"] == cpu_identity()


def _record(seed: int, value: float, cpu: dict | None,
            interval: tuple[float, float] | None = None) -> RunRecord:
    hardware = {} if cpu is None else {"hardware": {"cpu": cpu}}
    low, high = interval or (None, None)
    return RunRecord(
        run_id=f"run-s{seed}", method="a", task="audio2image", dataset="scenes", preset="tiny",
        seed=seed, status="ok", budget={}, params={}, timing={}, sampling={},
        metrics={METRIC: {"value": value, "n": 1000, "ci_low": low, "ci_high": high}},
        references={}, judges={}, config={}, provenance=hardware, run_key=f"k{seed}")


def _sweep(seeds: list[int]) -> dict:
    return {"methods": ["a"], "tasks": ["audio2image"], "seeds": seeds}


def test_a_baseline_names_the_cpu_its_runs_shared_and_none_when_they_differ():
    assert make_baseline("b", _sweep([0]), [_record(0, 2.0, THIS_CPU)])["cpu"] == THIS_CPU
    mixed = [_record(0, 2.0, THIS_CPU), _record(1, 2.1, OTHER_CPU)]
    assert make_baseline("b", _sweep([0, 1]), mixed)["cpu"] is None


DEMO = make_baseline("demo", _sweep([0]), [_record(0, 2.063, THIS_CPU, (1.335, 2.791))])


def test_on_its_own_cpu_a_one_seed_metric_is_compared_exactly():
    (moved,) = compare(DEMO, [_record(0, 2.003, THIS_CPU, (1.311, 2.695))])
    assert (moved.rule, moved.status) == ("same CPU", "DRIFT")
    (same,) = compare(DEMO, [_record(0, 2.063, THIS_CPU, (1.335, 2.791))])
    assert (same.rule, same.status) == ("same CPU", "ok")


def test_on_another_cpu_a_one_seed_metric_must_lie_within_the_runs_95_percent_interval():
    # The demo's FID: 2.063 on the baseline's Xeon, 2.003 [1.311, 2.695] on an AMD EPYC.
    (moved,) = compare(DEMO, [_record(0, 2.003, OTHER_CPU, (1.311, 2.695))])
    assert (moved.rule, moved.status) == ("95% interval", "ok")
    assert moved.allowed == pytest.approx(2.695 - 2.003 + DEMO["metrics"][KEY]["tolerance"])
    (gross,) = compare(DEMO, [_record(0, 3.5, OTHER_CPU, (2.8, 4.2))])  # 2.063 < 2.8
    assert (gross.rule, gross.status) == ("95% interval", "DRIFT")
    (below,) = compare(DEMO, [_record(0, 1.2, OTHER_CPU, (0.6, 1.8))])  # 2.063 > 1.8
    assert below.drifted


def test_a_record_or_baseline_that_names_no_cpu_is_compared_as_another_cpus():
    old_baseline = make_baseline("demo", _sweep([0]), [_record(0, 2.063, None)])
    (moved,) = compare(old_baseline, [_record(0, 2.003, THIS_CPU, (1.311, 2.695))])
    assert (moved.rule, moved.status) == ("95% interval", "ok")
    (old_record,) = compare(DEMO, [_record(0, 2.003, None, (1.311, 2.695))])
    assert old_record.rule == "95% interval"


def test_a_zero_width_interval_is_widened_to_the_rule_of_three():
    # Accuracy 1.0 over n = 1000 items: the bootstrap interval is [1, 1]; another CPU that
    # gets 2 items wrong is within 3/n, one that gets 4 wrong is not.
    perfect = make_baseline("demo", _sweep([0]), [_record(0, 1.0, THIS_CPU, (1.0, 1.0))])
    (two_wrong,) = compare(perfect, [_record(0, 0.998, OTHER_CPU, (0.998, 0.998))])
    assert two_wrong.interval == pytest.approx((0.995, 1.001)) and two_wrong.status == "ok"
    (four_wrong,) = compare(perfect, [_record(0, 0.996, OTHER_CPU, (0.996, 0.996))])
    assert four_wrong.drifted


def test_without_an_interval_another_cpu_compares_by_the_seed_spread_or_not_at_all():
    made = [_record(0, 2.0, THIS_CPU), _record(1, 2.2, THIS_CPU)]
    smoke = make_baseline("smoke", _sweep([0, 1]), made)
    (within,) = compare(smoke, [_record(0, 2.01, OTHER_CPU), _record(1, 2.2, OTHER_CPU)])
    assert (within.rule, within.status) == ("seed spread", "ok")
    (beyond,) = compare(smoke, [_record(0, 3.0, OTHER_CPU), _record(1, 3.2, OTHER_CPU)])
    assert beyond.drifted
    one_seed = make_baseline("demo", _sweep([0]), [_record(0, 2.063, THIS_CPU)])
    (skipped,) = compare(one_seed, [_record(0, 9.0, OTHER_CPU)])
    assert (skipped.rule, skipped.status, skipped.drifted) == (
        "not compared", "not compared", False)
    summary = rule_summary(one_seed, [_record(0, 9.0, OTHER_CPU)], [skipped])
    assert "Xeon B" in summary and "Xeon A" in summary and "1 not compared" in summary


def test_the_intervals_of_several_seeds_are_averaged():
    made = [_record(0, 2.0, THIS_CPU, (1.5, 2.5)), _record(1, 2.2, THIS_CPU, (1.7, 2.7))]
    smoke = make_baseline("smoke", _sweep([0, 1]), made)
    now = [_record(0, 1.2, OTHER_CPU, (0.9, 1.5)), _record(1, 1.4, OTHER_CPU, (1.1, 1.9))]
    (comparison,) = compare(smoke, now)
    assert comparison.interval == pytest.approx((1.0, 1.7))
    assert comparison.drifted  # baseline mean 2.1 > 1.7 + tolerance 0.3


def test_a_missing_value_drifts_on_any_cpu():
    without_the_metric = _record(0, 2.063, OTHER_CPU)
    without_the_metric.metrics = {}
    (missing,) = compare(DEMO, [without_the_metric])
    assert missing.drifted and missing.status == "DRIFT"


def test_the_comparison_written_names_both_cpus_and_each_rule():
    records = [_record(0, 2.003, OTHER_CPU, (1.311, 2.695))]
    written = comparison_record(Path("demo.json"), DEMO, records, compare(DEMO, records))
    assert (written["baseline_cpu"], written["cpu"], written["drifted"]) == (
        THIS_CPU, OTHER_CPU, 0)
    assert written["metrics"][KEY]["rule"] == "95% interval"
    assert written["metrics"][KEY]["interval"] == pytest.approx((1.311, 2.695))

"""Records and baselines name their CPU; a one-seed baseline is compared only on its own."""

import torch

from benchmark.check import compare, make_baseline, other_cpu_note
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


def _record(seed: int, value: float, cpu: dict | None) -> RunRecord:
    hardware = {} if cpu is None else {"hardware": {"cpu": cpu}}
    return RunRecord(
        run_id=f"run-s{seed}", method="a", task="audio2image", dataset="scenes", preset="tiny",
        seed=seed, status="ok", budget={}, params={}, timing={}, sampling={},
        metrics={METRIC: {"value": value, "n": 100, "ci_low": None, "ci_high": None}},
        references={}, judges={}, config={}, provenance=hardware, run_key=f"k{seed}")


def _sweep(seeds: list[int]) -> dict:
    return {"methods": ["a"], "tasks": ["audio2image"], "seeds": seeds}


def test_a_baseline_names_the_cpu_its_runs_shared_and_none_when_they_differ():
    assert make_baseline("b", _sweep([0]), [_record(0, 2.0, THIS_CPU)])["cpu"] == THIS_CPU
    mixed = [_record(0, 2.0, THIS_CPU), _record(1, 2.1, OTHER_CPU)]
    assert make_baseline("b", _sweep([0, 1]), mixed)["cpu"] is None


def test_a_one_seed_metric_is_not_compared_on_another_cpu():
    baseline = make_baseline("demo", _sweep([0]), [_record(0, 2.003, THIS_CPU)])
    records = [_record(0, 2.063, OTHER_CPU)]
    (comparison,) = compare(baseline, records)
    assert (comparison.compared, comparison.status, comparison.drifted) == (
        False, "other CPU", False)
    note = other_cpu_note(baseline, records, [comparison])
    assert note.startswith("1 one-seed metrics not compared") and "Xeon A" in note
    assert "Xeon B" in note


def test_a_one_seed_metric_is_compared_exactly_on_its_own_cpu():
    baseline = make_baseline("demo", _sweep([0]), [_record(0, 2.003, THIS_CPU)])
    (moved,) = compare(baseline, [_record(0, 2.063, THIS_CPU)])
    assert moved.compared and moved.drifted
    (same,) = compare(baseline, [_record(0, 2.003, THIS_CPU)])
    assert same.status == "ok"
    assert other_cpu_note(baseline, [_record(0, 2.003, THIS_CPU)], [same]) is None


def test_a_multi_seed_metric_is_compared_on_any_cpu():
    made = [_record(0, 2.0, THIS_CPU), _record(1, 2.2, THIS_CPU)]
    baseline = make_baseline("smoke", _sweep([0, 1]), made)
    (within,) = compare(baseline, [_record(0, 2.01, OTHER_CPU), _record(1, 2.2, OTHER_CPU)])
    assert within.compared and within.status == "ok"
    (beyond,) = compare(baseline, [_record(0, 3.0, OTHER_CPU), _record(1, 3.2, OTHER_CPU)])
    assert beyond.compared and beyond.drifted


def test_records_or_baselines_that_name_no_cpu_are_compared_as_before():
    old_baseline = make_baseline("demo", _sweep([0]), [_record(0, 2.003, None)])
    assert old_baseline["cpu"] is None
    (moved,) = compare(old_baseline, [_record(0, 2.063, OTHER_CPU)])
    assert moved.compared and moved.drifted
    new_baseline = make_baseline("demo", _sweep([0]), [_record(0, 2.003, THIS_CPU)])
    (old_record,) = compare(new_baseline, [_record(0, 2.063, None)])
    assert old_record.compared and old_record.drifted


def test_a_missing_value_drifts_on_any_cpu():
    baseline = make_baseline("demo", _sweep([0]), [_record(0, 2.003, THIS_CPU)])
    without_the_metric = _record(0, 2.063, OTHER_CPU)
    without_the_metric.metrics = {}
    (missing,) = compare(baseline, [without_the_metric])
    assert missing.drifted and missing.status == "DRIFT"

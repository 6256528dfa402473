"""compare, power and claims on folders of made-up records with known differences, and
their one-line refusals of bad input (benchmark/verdicts/, benchmark/cli/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.results.records import RunRecord, write_features, write_per_sample, write_record
from benchmark.verdicts.claims import FAILS, HOLDS, INCONCLUSIVE, evaluate, read_claims
from benchmark.verdicts.comparisons import compare_column
from benchmark.verdicts.power import Design

ATTR = "image.attr_acc[judge:scenes-v1]"
FID = "image.fid[judge:scenes-v1]"
ITEMS = 200
REAL = np.random.default_rng(0).normal(0.0, 1.0, (ITEMS, 8))


def _write_run(folder: Path, method: str, seed: int, accuracy: float, fid_shift: float,
               *, serve: int = 100, paper: int = 1000, with_features: bool = True,
               dataset_key: str = "k1", n: int = ITEMS) -> None:
    """One run of ``method``: per-item 0/1 attribute scores with mean ``accuracy`` (the
    same items right for every seed, so seeds agree), image features shifted by
    ``fid_shift`` from the shared real ones."""
    rng = np.random.default_rng([seed, len(method)])
    run_id = f"2026-{method}-text2image-s{seed}"
    scores = (rng.permutation(ITEMS) < round(accuracy * ITEMS)).astype(float)
    generated = REAL + fid_shift + rng.normal(0.0, 0.3, REAL.shape)
    per_sample = write_per_sample(run_id, {f"generated/{ATTR}": scores}, folder)
    features_file, features = (write_features(run_id, {FID: (generated, REAL)}, folder, folder)
                               if with_features else (None, {}))
    value = {"value": float(scores.mean()), "n": n, "ci_low": None, "ci_high": None}
    fid = {"value": float(np.sum((generated.mean(0) - REAL.mean(0)) ** 2)), "n": n,
           "ci_low": None, "ci_high": None}
    curve = [{"fraction": f, "flops": 1e9 * f, "samples": int(1000 * f), "steps": 1,
              "seconds": 1.0, "metrics": {ATTR: {**value, "value": accuracy * g}}}
             for f, g in ((0.25, 0.9 if method == "a" else 0.5), (1.0, 1.0))]
    write_record(RunRecord(
        run_id=run_id, method=method, task="text2image", dataset="scenes:smoke",
        preset="tiny", seed=seed, status="ok", budget={"samples": 1000, "flops": 1e9},
        params={"serve_suite": serve, "paper_preset_serve_suite": paper},
        timing={"train_s": 1.0}, sampling={}, metrics={ATTR: value, FID: fid},
        references={}, judges={},
        config={"run": {"profile": "smoke", "budget": "samples=1000", "evaluator": "embedded"},
                "dataset": {"name": "scenes", "key": dataset_key,
                            "counts": {"train": {"items": 10, "text+image": 10}}}},
        provenance={}, per_sample_file=per_sample.name, curve=curve,
        features_file=None if features_file is None else features_file.name,
        features=features), folder)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Method a right on 80% of the items, b on 60% and c on 79%; a's features closest to
    the real ones, b's far off. a needs a tenth of b's parameters."""
    for seed in (0, 1, 2):
        _write_run(tmp_path, "a", seed, 0.80, 0.0, serve=10, paper=100)
        _write_run(tmp_path, "b", seed, 0.60, 1.0)
        _write_run(tmp_path, "c", seed, 0.79, 0.05)
    return tmp_path


def test_compare_finds_the_real_differences_and_not_the_tiny_one(folder, capsys):
    assert main(["compare", "--results", str(folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| a − b | 0.200 |" in out and "a better" in out
    assert "a − c" in out and "no real difference" in out.split("a − c")[1].splitlines()[0]
    fid = out.split(FID)[1]
    assert "b better" not in fid and "a better" in fid  # lower FID is better
    assert "family of 6 comparisons" in out


def test_power_prints_the_minimum_detectable_difference_and_what_half_of_it_takes(folder,
                                                                                 capsys):
    assert main(["power", "--results", str(folder), "--metrics", "attr_acc",
                 "--no-progress"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if ATTR in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:4] == ["200", "3"]
    detectable, half = float(cells[4]), float(cells[5])
    assert half == pytest.approx(detectable / 2, rel=1e-3)


def test_the_design_formulas_invert_each_other():
    design = Design("t", "m", items=1000, seeds=3, se=0.0125, se_items=0.01,
                    se_seeds=0.0075, df=float("inf"))
    assert design.minimum_detectable == pytest.approx(2.8016 * 0.0125, rel=1e-4)
    # at the present MDD, the present design suffices
    assert design.items_needed(design.minimum_detectable) <= 1000 + 1
    assert design.seeds_needed(design.minimum_detectable) <= 3
    # half the MDD needs se 4x smaller in variance: the seed part alone (0.0075) exceeds
    # 0.0125 / 2, so no number of items reaches it
    assert design.items_needed(design.minimum_detectable / 2) is None
    one_seed = Design("t", "m", 1000, 1, 0.01, 0.01, 0.0, float("inf"))
    assert one_seed.seeds_needed(0.01) is None
    assert one_seed.items_needed(one_seed.minimum_detectable / 2) == pytest.approx(4000, rel=0.01)


CLAIMS = """
[[claim]]
id = "a-fewer-parameters"
source = "made up"
paper_says = "a needs 6x fewer parameters"
paper_compared = "p"
harness_measures = "h"
reported = ["a 1M"]
kind = "parameter_ratio"
method = "a"
against = ["b"]
at_least = 6.0
presets = ["tiny", "paper"]

[[claim]]
id = "a-comparable-to-c"
source = "s"
paper_says = "comparable"
paper_compared = "p"
harness_measures = "h"
kind = "non_inferiority"
method = "a"
against = "c"
tasks = ["text2image"]
metrics = ["attr_acc"]
margin = 0.05

[[claim]]
id = "b-comparable-to-a"
source = "s"
paper_says = "comparable"
paper_compared = "p"
harness_measures = "h"
kind = "non_inferiority"
method = "b"
against = "a"
tasks = ["text2image"]
metrics = ["attr_acc"]
margin = 0.05

[[claim]]
id = "a-beats-b"
source = "s"
paper_says = "better"
paper_compared = "p"
harness_measures = "h"
kind = "superiority"
method = "a"
against = ["b"]
tasks = ["text2image"]
metrics = ["attr_acc", "fid"]

[[claim]]
id = "a-beats-c"
source = "s"
paper_says = "better"
paper_compared = "p"
harness_measures = "h"
kind = "superiority"
method = "a"
against = ["c"]
tasks = ["text2image"]
metrics = ["attr_acc"]

[[claim]]
id = "a-trains-faster"
source = "s"
paper_says = "faster"
paper_compared = "p"
harness_measures = "h"
kind = "compute_to_quality"
method = "a"
against = ["b"]
tasks = ["text2image"]
metrics = ["attr_acc"]
at_least = 3.0
"""


def test_claims_get_the_verdicts_their_records_imply(folder, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(CLAIMS)
    from benchmark.report.collection import load_collection

    records = load_collection(folder).records
    verdicts = {c.id: evaluate(c, folder, records) for c in read_claims(path)}
    assert verdicts["a-fewer-parameters"].verdict == HOLDS  # 10x at both presets
    assert verdicts["a-comparable-to-c"].verdict == HOLDS  # 0.80 vs 0.79, margin 0.04
    assert verdicts["b-comparable-to-a"].verdict == FAILS  # 0.60 vs 0.80
    assert verdicts["a-beats-b"].verdict == HOLDS
    assert verdicts["a-beats-c"].verdict == INCONCLUSIVE  # 0.01 on 200 items: noise
    # a reaches b's final 0.60 at its first point, 1/4 of the budget: 4x or more
    assert verdicts["a-trains-faster"].verdict == HOLDS
    assert "4.00x" in verdicts["a-trains-faster"].evidence[0]


@pytest.mark.parametrize(("edit", "message"), [
    (('method = "a"', 'method = "flowbnd"'), "method 'flowbnd'"),
    (('metrics = ["attr_acc"]', 'metrics = ["atr_acc"]'), "atr_acc"),
    (('tasks = ["text2image"]', 'tasks = ["text2imag"]'), "text2imag"),
    (('kind = "superiority"', 'kind = "better"'), "kind 'better'"),
])
def test_a_bad_claim_is_one_line_and_exit_2(folder, tmp_path, capsys, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(CLAIMS.replace(*edit, 1))
    assert main(["claims", "--results", str(folder), "--claims", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_records_without_features_missing_seeds_or_other_test_sets_are_refused(tmp_path,
                                                                              capsys):
    for seed in (0, 1):
        _write_run(tmp_path / "old", "a", seed, 0.8, 0.0, with_features=False)
        _write_run(tmp_path / "old", "b", seed, 0.6, 1.0, with_features=False)
    assert main(["compare", "--results", str(tmp_path / "old"), "--metrics", "fid",
                 "--no-progress"]) == 2
    assert "no features stored" in capsys.readouterr().err
    for seed in (0, 1, 2):
        _write_run(tmp_path / "short", "a", seed, 0.8, 0.0)
    _write_run(tmp_path / "short", "b", 0, 0.6, 1.0)
    assert main(["compare", "--results", str(tmp_path / "short"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "seeds missing for b" in err and len(err.strip().splitlines()) == 1
    for seed in (0, 1):
        _write_run(tmp_path / "mixed", "a", seed, 0.8, 0.0, n=ITEMS)
        _write_run(tmp_path / "mixed", "b", seed, 0.6, 1.0, n=ITEMS // 2)
    from benchmark.report.collection import load_collection

    records = load_collection(tmp_path / "mixed").records
    column = compare_column(tmp_path / "mixed", records, "text2image", FID)
    assert column.untested.endswith("are not ranked: their bias depends on n")
    assert column.marks() == {}

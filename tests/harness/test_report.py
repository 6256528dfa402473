"""Reports from run records: tables, CSV, plots, page; honest bolding; what is missing."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.core.config import RunConfig
from benchmark.core.errors import UserError
from benchmark.report import write_report
from benchmark.report.tables import task_arrow
from benchmark.results.records import RunRecord, write_per_sample, write_record, write_samples
from benchmark.results.sweep_plan import PLAN_FILE, append_plan
from support.paths import ROOT

ATTR = "image.attr_acc[judge:scenes-v1]"
FID = "image.fid[judge:scenes-v1]"
CLIP = "image.clip[contrastive-judge:scenes-v1]"


def _value(v, spread=0.01):
    return {"value": v, "n": 100, "ci_low": v - spread, "ci_high": v + spread}


def _per_item(mean: float, items: int = 100) -> np.ndarray:
    """0/1 scores of ``items`` test items whose mean is ``mean`` (to 1/items)."""
    return (np.arange(items) < round(mean * items)).astype(np.float64)


def _record(method, seed, attr, fid, task="text2image", budget="samples=1000", samples=None,
            per_sample=None):
    run_id = f"2026-{method}-{task}-s{seed}"
    return RunRecord(
        per_sample_file=per_sample,
        run_id=run_id, method=method, task=task, dataset="scenes:smoke", preset="tiny",
        seed=seed, status="ok",
        budget={"kind": "samples", "value": 1000, "used": 1024, "samples": 1024,
                "steps": 4, "flops": 4e9, "seconds": 1.5, "flops_per_step": 1e9},
        params={"trainable": 10, "serve_task": 5, "serve_suite": 8 if method == "a" else 80,
                "suite_tasks": 12, "suite_trainable": 10, "paper_preset_trainable": 1000,
                "paper_preset_serve_suite": 900},
        timing={"train_s": 1.5 + seed, "samples_per_s": 700.0},
        sampling={"steps": 20, "guidance": None, "n": 100},
        metrics={ATTR: _value(attr), FID: {"value": fid, "n": 100, "ci_low": fid - 1,
                                           "ci_high": fid + 1},
                 CLIP: _value(50.0 + attr)},
        references={"oracle": {ATTR: _value(0.9), FID: _value(0.3)},
                    "chance": {ATTR: _value(0.3), FID: _value(1.0)}},
        judges={ATTR: _value(1.0)},
        config={"run": {"profile": "smoke", "budget": budget, "evaluator": "embedded"},
                "dataset": {"name": "scenes", "media": {"sample_rate": 8000}}},
        provenance={}, protocol="task", samples_file=samples,
        curve=[{"fraction": f, "samples": int(1024 * f), "metrics": {ATTR: _value(attr * f),
                                                                      FID: _value(fid / f)}}
               for f in (0.25, 1.0)],
        extra={"single_stage": True},
    )


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "runs"
    for seed, (a, b) in enumerate([(0.80, 0.50), (0.82, 0.52), (0.81, 0.51)]):
        for method, attr, fid in (("a", a, 5.0 + seed * 0.1), ("b", b, 5.05 + seed * 0.1)):
            per_sample = write_per_sample(f"2026-{method}-text2image-s{seed}",
                                          {f"generated/{ATTR}": _per_item(attr)}, folder)
            write_record(_record(method, seed, attr, fid=fid, per_sample=per_sample.name),
                         folder)
    samples = write_samples("2026-a-text2image-s0", {
        "source/text": np.array(["a red circle", "a blue square"]),
        "generated/image": np.zeros((2, 8, 8, 3), np.uint8),
        "truth/image": np.full((2, 8, 8, 3), 255, np.uint8)}, folder)
    record = (folder / "2026-a-text2image-s0.json")
    record.write_text(record.read_text().replace('"samples_file": null',
                                                 f'"samples_file": "{samples.name}"'))
    return folder


def test_tables_show_mean_sd_arrows_and_bold_only_when_separated(results, tmp_path):
    report = write_report(results, tmp_path / "out" / "demo")
    table = (report.folder / "table.md").read_text()
    # attribute accuracy: a = 0.81 vs b = 0.51 on the same 100 items, 3 seeds each: the
    # paired test finds a better after Holm's correction -> bold
    assert "| a | **0.810 ± 0.010** |" in table
    assert "Holm's correction over this table's" in table
    assert "minimum detectable difference (80% power, 5% level" in table
    # FID: these records kept no features -> not tested, no bold, and the note says why
    assert "5.100 ± 0.100" in table and "**5.100" not in table
    assert "T→I fid: image.fid[judge:scenes-v1] of a text2image seed 0: no features " \
           "stored" in table
    assert "T→I attr_acc ↑" in table and "T→I fid ↓" in table
    assert "| (oracle) |" in table and "| (real) |" in table
    assert "n = 100 test items" in table
    tex = (report.folder / "table.tex").read_text()
    assert r"\toprule" in tex and r"\textbf{0.810 $\pm$ 0.010}" in tex
    assert r"attr\_acc $\uparrow$" in tex
    csv = (report.folder / "results.csv").read_text().splitlines()
    assert csv[0].startswith("run_id,method,task,seed,protocol,row,metric_id")
    assert len(csv) == 1 + 6 * (3 + 2 + 2 + 1)  # runs x (generated + oracle + chance + real)


def test_the_report_regenerates_byte_for_byte(results, tmp_path):
    first = write_report(results, tmp_path / "one")
    second = write_report(results, tmp_path / "two")
    for name in ("table.md", "table.tex", "results.csv"):
        assert (first.folder / name).read_bytes() == (second.folder / name).read_bytes()
    again = write_report(results, tmp_path / "one")  # over an existing report
    assert (again.folder / "table.md").read_bytes() == (second.folder / "table.md").read_bytes()


def test_the_report_folder_follows_the_umask_like_its_files(results, tmp_path):
    """Before: the folder was tempfile.mkdtemp's, 0700 whatever the umask."""
    before = os.umask(0o022)
    try:
        report = write_report(results, tmp_path / "out")
    finally:
        os.umask(before)
    assert stat.S_IMODE(report.folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((report.folder / "table.md").stat().st_mode) == 0o644


@pytest.mark.parametrize("name", ["example-suite"])
def test_the_committed_example_report_is_what_report_writes(name, tmp_path, monkeypatch):
    """``reports/<name>/`` is exactly ``report --results results/<name> --name <name>``
    (with the repository's claims, as the command reads them by default)."""
    monkeypatch.chdir(ROOT)
    report = write_report(Path("results") / name, tmp_path / name, Path("claims"))
    for file in ("table.md", "table.tex", "results.csv"):
        committed = ROOT / "reports" / name / file
        assert (report.folder / file).read_bytes() == committed.read_bytes(), file


def test_the_page_has_plots_and_a_gallery(results, tmp_path):
    report = write_report(results, tmp_path / "out")
    page = (report.folder / "index.html").read_text()
    for plot in ("quality_vs_compute.png", "params_vs_quality.png", "bars_attr_acc.png"):
        assert (report.folder / plot).stat().st_size > 1000
        assert f"src='{plot}'" in page
    assert "a red circle" in page
    assert (report.folder / "gallery" / "a-text2image-0-generated-image.png").exists()
    assert "no stored samples" in page and "b text2image" in page


def test_an_empty_or_partial_folder_says_what_is_missing(results, tmp_path):
    with pytest.raises(UserError, match="benchmark sweep"):
        write_report(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="none that succeeded"):
        write_report(tmp_path / "empty", tmp_path / "out")
    write_record(_record("a", 0, 0.8, 5.0, task="audio2image"), results)
    report = write_report(results, tmp_path / "out")
    assert "missing: a audio2image seed 1" in "\n".join(report.problems)
    assert "missing: b audio2image seed 0" in "\n".join(report.problems)
    assert "Not in this report: missing: b audio2image seed 2" in (
        report.folder / "table.md").read_text()


def test_runs_a_sweep_planned_but_never_recorded_are_missing(results, tmp_path):
    def planned(method, seed):
        return RunConfig(method, "text2image", seed=seed, profile="smoke",
                         budget="samples=1000", results_dir=results)

    append_plan([planned("c", 0), planned("a", 0)])
    with open(results / PLAN_FILE, "a") as plan:
        plan.write('{"method": "c", "ta')  # a line cut short by a killed sweep
    append_plan([planned("c", 0), planned("c", 1)])  # a resumed sweep adds only c seed 1
    assert len((results / PLAN_FILE).read_text().splitlines()) == 4
    problems = "\n".join(write_report(results, tmp_path / "out").problems)
    assert "missing: c text2image seed 0 (profile smoke, protocol task, budget " \
           "samples=1000, evaluator embedded)" in problems
    assert "missing: c text2image seed 1" in problems
    assert "missing: a" not in problems and "seed 2" not in problems


def test_runs_of_different_budgets_are_not_mixed(results, tmp_path):
    write_record(_record("a", 7, 0.8, 5.0, budget="samples=9"), results)
    with pytest.raises(UserError, match="mixes runs of 2 settings"):
        write_report(results, tmp_path / "out")


def test_the_cli_reports_an_empty_folder_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "benchmark", "report", "--results",
                             str(tmp_path), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    errors = [line for line in result.stderr.strip().splitlines()
              if not line.startswith("[anybench] ")]  # the stage lines say what it does
    assert len(errors) == 1 and "sweep" in errors[0]


def test_task_arrows():
    assert task_arrow("audio2image") == "A→I"
    assert task_arrow("text+audio2image") == "T+A→I"
    assert task_arrow("image2text+audio") == "I→T+A"

import json
from dataclasses import fields

import pytest

from benchmark.results.records import RunRecord, read_record, write_record
from benchmark.run.record import provenance

DESIGN_FIELDS = {
    "run_id", "method", "task", "dataset", "preset", "seed", "budget", "params", "timing",
    "flops", "metrics", "provenance", "status",
}


def _record(run_id: str = "r1") -> RunRecord:
    return RunRecord(
        run_id=run_id, method="flowbind", task="audio2image", dataset="scenes:default",
        preset="tiny", seed=0, status="ok",
        budget={"kind": "steps", "value": 10, "used": 10, "samples_seen": 2560},
        params={"trainable": 1, "serve_task": 1, "serve_suite": 1, "suite_tasks": 12,
                "suite_trainable": 1, "paper_preset_trainable": 2, "paper_preset_serve_suite": 2},
        timing={"train_s": 1.0, "sample_s": 0.1, "eval_s": 0.2, "samples_per_s": 2560.0},
        sampling={"steps": 10, "guidance": None, "n": 5},
        metrics={"image.attr_acc[judge:scenes-v1]":
                 {"value": 0.5, "n": 5, "ci_low": 0.4, "ci_high": 0.6}},
        references={"oracle": {}, "chance": {}}, judges={}, config={"a": 1},
        provenance=provenance("abc"),
    )


def test_record_has_every_field_the_design_names():
    assert {f.name for f in fields(RunRecord)} >= DESIGN_FIELDS


def test_write_then_read_round_trips(tmp_path):
    path = write_record(_record(), tmp_path)
    assert path.name == "r1.json"
    assert read_record(path) == _record()
    assert json.loads(path.read_text())["provenance"]["config_hash"] == "abc"


def test_an_existing_record_is_never_overwritten(tmp_path):
    path = write_record(_record(), tmp_path)
    before = path.read_text()
    changed = _record()
    changed.status = "changed"
    with pytest.raises(FileExistsError):
        write_record(changed, tmp_path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r1.json"]  # no temporary files left


def test_a_crash_while_writing_leaves_nothing(tmp_path, monkeypatch):
    def broken(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(RunRecord, "to_json", broken)
    with pytest.raises(RuntimeError):
        write_record(_record(), tmp_path)
    assert list(tmp_path.iterdir()) == []

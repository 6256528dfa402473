"""One whole run through the CLI on the smoke profile: every stage, a record, a table."""

import json
import os
import subprocess
import sys
from pathlib import Path


def test_smoke_run_writes_a_complete_record(tmp_path):
    env = {**os.environ, "ANYBENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--method", "flowbind",
         "--task", "audio2image", "--profile", "smoke", "--results", str(tmp_path / "runs"),
         "--no-progress"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = list(Path(tmp_path / "runs").glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["status"] == "ok"
    assert record["budget"]["used"] == record["budget"]["value"] == 100
    assert set(record["references"]) == {"oracle", "chance"}
    ids = set(record["metrics"])
    assert ids == {"image.attr_acc[judge:scenes-v1]", "image.fd[judge:scenes-v1]"}
    for row in (record["metrics"], *record["references"].values()):
        assert set(row) == ids
        for value in row.values():
            assert value["n"] == 100
    assert record["params"]["paper_preset_trainable"] == 567_972_864
    assert record["params"]["suite_tasks"] == 12
    assert "(oracle)" in result.stdout and "(chance)" in result.stdout

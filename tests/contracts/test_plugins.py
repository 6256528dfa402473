"""Plug-ins: a method, metric or dataset from outside the repository, by file or entry point.

The "Add your own method" example of docs/methods.md is read from that page itself, saved in a
temporary folder, loaded by path, put through the contract every built-in method passes,
and run end to end by ``python -m benchmark run``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.core.errors import UserError
from benchmark.core.registry import Registry
from methods import METHODS
from support.method_contract import check_method_contract
from support.paths import PLUGINS, ROOT

README = ROOT / "docs" / "methods.md"


def readme_example() -> str:
    """The first ``python`` block of docs/methods.md's "Add your own method" section."""
    section = README.read_text().split("## Add your own method", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture
def example_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_methods" / "linear_map.py"
    path.parent.mkdir()
    path.write_text(readme_example())
    return path


def test_the_readme_example_is_short():
    assert len(readme_example().splitlines()) < 60


def test_the_readme_example_passes_the_method_contract(example_file):
    method_cls = METHODS.get(f"{example_file}:LinearMap")
    assert method_cls.name == "linear_map"
    check_method_contract(method_cls)


@pytest.mark.slow
def test_the_readme_example_trains_and_is_scored_by_run(example_file, tmp_path, smoke_env):
    """The example method runs end to end through the CLI, with a metric plug-in beside
    the built-in metrics; the record lands directly in the results folder."""
    spec = f"{example_file}:LinearMap"
    metric_file = PLUGINS / "exact_match.py"
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--method", spec, "--task", "audio2image",
         "--profile", "smoke", "--metric", f"{metric_file}:EXACT_MATCH",
         "--results", str(tmp_path / "runs"), "--no-progress"],
        capture_output=True, text=True, env=smoke_env, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (record_path,) = (tmp_path / "runs").glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["method"] == spec and record["status"] == "ok"
    assert record_path.name.split("-")[1] == "linear_map.LinearMap"
    judge = "judge:scenes-v1"
    accuracy = record["metrics"][f"image.attr_acc[{judge}]"]["value"]
    chance = record["references"]["chance"][f"image.attr_acc[{judge}]"]["value"]
    assert 0.0 <= accuracy <= 1.0 and record["params"]["trainable"] > 0
    assert accuracy > chance
    exact = record["metrics"][f"image.exact_match[{judge}]"]["value"]
    assert 0.0 <= exact <= accuracy
    assert f"image.exact_match[{judge}]" in record["judges"]
    assert record["config"]["run"]["metrics"] == [f"{metric_file}:EXACT_MATCH"]


def test_a_missing_file_or_name_is_a_one_line_error(example_file, tmp_path):
    with pytest.raises(UserError, match="no method file"):
        METHODS.get(f"{tmp_path / 'absent.py'}:LinearMap")
    with pytest.raises(UserError, match="did you mean 'LinearMap'"):
        METHODS.get(f"{example_file}:LinearMop")


def test_installed_packages_register_through_entry_points(example_file, monkeypatch):
    """A distribution on sys.path declaring ``[anybench.methods]`` is found by name, and
    its origin names the package."""
    site = example_file.parent.parent
    info = site / "my_methods-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-methods\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[anybench.methods]\nlinear_map = my_methods.linear_map:LinearMap\n")
    monkeypatch.syspath_prepend(str(site))
    registry: Registry[type] = Registry("method", "anybench.methods")
    registry.add("flowbind", lambda: object, "built in")
    assert registry.names() == ["flowbind", "linear_map"]
    entry = registry.entry("linear_map")
    assert entry.origin == "entry point of my-methods"
    assert entry.load().name == "linear_map"


def test_ls_says_where_each_entry_comes_from():
    result = subprocess.run([sys.executable, "-m", "benchmark", "ls", "methods"],
                            capture_output=True, text=True, check=True, timeout=120)
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["flowbind", "built-in"] for line in lines)

"""The floor plan holds: dependencies point one way, down to benchmark.core.

Read from the import graph of the source files (every ``import`` and ``from ... import``,
including those inside functions and under ``TYPE_CHECKING``): ``methods/`` and
``metrics/`` import nothing of the harness but ``benchmark.core``, ``benchmark/core``
imports nothing of ours outside it, and each group of the harness imports only the
groups below it (:data:`GROUPS`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support.paths import ROOT

OURS = ("benchmark", "methods", "metrics")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports (relative imports are not used here)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _ours_outside(folder: str, allowed: tuple[str, ...]) -> list[str]:
    """``file: module`` for each import of ours in ``folder`` that is not under ``allowed``."""
    offending = []
    root = ROOT / folder
    for path in sorted(root.rglob("*.py") if root.is_dir() else [root]):
        for module in sorted(imported_modules(path)):
            top = module.split(".")[0]
            if module == "benchmark":  # the package itself holds only its version
                continue
            if top in OURS and not any(module == a or module.startswith(a + ".")
                                       for a in allowed):
                offending.append(f"{path.relative_to(ROOT)}: {module}")
    return offending


@pytest.mark.parametrize("package", ["methods", "metrics"])
def test_methods_and_metrics_import_only_the_core_of_the_harness(package):
    assert _ours_outside(package, ("benchmark.core", "methods", "metrics")) == []


def test_the_core_imports_nothing_of_ours_above_it():
    assert _ours_outside("benchmark/core", ("benchmark.core",)) == []


FOUNDATION = ("benchmark.core", "methods", "metrics")

GROUPS = {
    "benchmark/data": ("benchmark.data",),
    "benchmark/backbones": ("benchmark.backbones", "benchmark.data"),
    "benchmark/profiles.py": ("benchmark.profiles", "benchmark.backbones", "benchmark.data"),
    # what runs leave behind and how it is read: nothing of how it was made
    "benchmark/results": ("benchmark.results",),
    # scoring reads prepared inputs and knows nothing of training, records or sweeps
    "benchmark/scoring": ("benchmark.scoring", "benchmark.profiles"),
    "benchmark/run": ("benchmark.run", "benchmark.scoring", "benchmark.results",
                      "benchmark.profiles", "benchmark.backbones", "benchmark.data"),
    "benchmark/sweep": ("benchmark.sweep", "benchmark.run", "benchmark.results",
                        "benchmark.profiles"),
    # reports and verdicts read records only: they never train, score or sweep
    "benchmark/report": ("benchmark.report", "benchmark.verdicts", "benchmark.results"),
    "benchmark/verdicts": ("benchmark.verdicts", "benchmark.report", "benchmark.results"),
}
"""Each group of the harness and what of ours it may import besides :data:`FOUNDATION`."""


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_group_of_the_harness_imports_only_the_groups_below_it(group):
    assert _ours_outside(group, FOUNDATION + GROUPS[group]) == []


def test_every_module_of_the_harness_is_in_a_group():
    """The harness is grouped: besides the groups only the drift check, the CLI and the
    package's entry points stand at the top."""
    top = {path.name for path in (ROOT / "benchmark").glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "check.py", "profiles.py"}
    folders = {path.name for path in (ROOT / "benchmark").iterdir()
               if path.is_dir() and (path / "__init__.py").exists()}
    assert {f"benchmark/{name}" for name in folders} - set(GROUPS) == {
        "benchmark/core", "benchmark/cli"}


def test_the_graph_reader_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("import os\n\ndef f():\n    from benchmark.run.pipeline import run\n")
    assert imported_modules(source) == {"os", "benchmark.run.pipeline"}

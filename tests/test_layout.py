"""The floor plan holds: dependencies point one way, down to benchmark.core.

Read from the import graph of the source files (every ``import`` and ``from ... import``,
including those inside functions): ``methods/`` and ``metrics/`` import nothing of the
harness but ``benchmark.core``, and ``benchmark/core`` imports nothing of ours outside it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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
    for path in sorted((ROOT / folder).rglob("*.py")):
        for module in sorted(imported_modules(path)):
            top = module.split(".")[0]
            if top in OURS and not any(module == a or module.startswith(a + ".")
                                       for a in allowed):
                offending.append(f"{path.relative_to(ROOT)}: {module}")
    return offending


@pytest.mark.parametrize("package", ["methods", "metrics"])
def test_methods_and_metrics_import_only_the_core_of_the_harness(package):
    assert _ours_outside(package, ("benchmark.core", "methods", "metrics")) == []


def test_the_core_imports_nothing_of_ours_above_it():
    assert _ours_outside("benchmark/core", ("benchmark.core",)) == []


def test_the_graph_reader_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("import os\n\ndef f():\n    from benchmark.runner import run\n")
    assert imported_modules(source) == {"os", "benchmark.runner"}

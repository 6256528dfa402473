"""Paths the tests read: the repository root, the committed fixtures, the plug-in files."""

from pathlib import Path

#: The repository root (the folder holding pyproject.toml).
ROOT = Path(__file__).resolve().parents[2]
#: Files kept for tests that read them (e.g. a record of an older schema).
FIXTURES = ROOT / "tests" / "fixtures"
#: Plug-in files (methods, metrics) that tests load by path: ``f"{PLUGINS / 'file.py'}:Name"``.
PLUGINS = ROOT / "tests" / "plugins"

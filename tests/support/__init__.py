"""Helpers the tests import (``from support.batches import ...``): batches and training,
known answers, the method contract, a synthetic metric world, a hand-made folder and the
repository's paths. ``tests/`` is on pytest's ``pythonpath`` (pyproject.toml), so the
package imports from a test in any sub-folder; the fixtures stay in tests/conftest.py."""

"""Fixtures shared by the test modules, one section per concern.

- threads: ``single_thread`` for modules that train tiny networks on a busy 2-core machine
  (opt in with ``pytestmark = pytest.mark.usefixtures("single_thread")``)
- methods: partially paired embedding batches
- datasets and caches: smoke caches built once per test session
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

# ------------------------------------------------------------------------------ threads


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    """One torch thread for the module: tiny matrices gain nothing from two, and the
    machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------ methods


# ------------------------------------------------------------------- datasets and caches

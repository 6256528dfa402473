"""anybench: a benchmark and reproduction harness for any-to-any generation.

Heavy libraries (torch, Lightning) are imported lazily by the modules that need them,
so ``python -m benchmark --help`` and ``ls`` stay fast.
"""

__version__ = "0.1.0"

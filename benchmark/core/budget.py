"""A training budget: how much compute a run may spend (AlgoPerf / MLPerf style).

    samples=N   training examples seen (rows of the batches), stops within one batch
    steps=N     optimizer steps
    flops=X     model FLOPs, forward + backward of the training loss, measured per step
    seconds=S   training wall-clock, device synchronized before every clock reading

The harness enforces and measures it (benchmark/run/budget.py); this module only says what a
budget is and reads one from ``KIND=VALUE`` text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmark.core.errors import UserError

BUDGET_KINDS = ("samples", "steps", "flops", "seconds")


@dataclass(frozen=True)
class Budget:
    """``kind`` in BUDGET_KINDS and its positive limit ``value``."""

    kind: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Budget:
        """``"samples=256000"`` (also ``1e12`` for flops) -> Budget; bad text is a UserError."""
        kind, _, number = text.partition("=")
        if kind not in BUDGET_KINDS or not number:
            raise UserError(f"cannot read budget '{text}': write KIND=VALUE with KIND one of "
                            f"{', '.join(BUDGET_KINDS)}, e.g. samples=256000")
        try:
            value = float(number)
        except ValueError:
            raise UserError(f"budget '{text}': '{number}' is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise UserError(f"budget '{text}': the value must be positive")
        if kind in ("samples", "steps") and value != int(value):
            raise UserError(f"budget '{text}': {kind} must be a whole number")
        return cls(kind, value)

    def __str__(self) -> str:
        return f"{self.kind}={self.value:g}"

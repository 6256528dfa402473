"""ODE solvers for sampling: ``dx/dt = v(x, t)`` from ``t = start`` to ``t = end``.

Every method samples by integrating a velocity field over ``[0, 1]``, forward (towards
the data at ``t = 1``: FlowBind's decoding, CFM, CrossFlow) or backward (towards the
data at ``t = 0``: joint, CoDi; FlowBind's encoding); see :mod:`methods.paths`. The state
``x`` is a tensor or a dict of tensors (the joint model moves several targets at once);
the velocity callable gets the state and the time as a Python float.

**Euler** (the default, :class:`Euler`): ``steps`` fixed steps of ``h = (end - start) /
steps``, at times ``t_i = start + i h``, ``i = 0..steps-1``:

    x <- x + h * v(x, t_i).

For ``[0, 1]`` this is ``t_i = i dt`` and ``x <- x + dt v``; for ``[1, 0]`` it is
``t_i = 1 - i dt`` and ``x <- x - dt v``, ``dt = 1 / steps``, computed with those very
floating-point operations (IEEE negation is exact), so the numbers match the loops the
methods were written with. Written here rather than taken from ``torchdiffeq``'s
``euler``, whose tensor time grid rounds differently.

**Adaptive** (:class:`Adaptive`): ``torchdiffeq.odeint`` with an embedded Runge-Kutta
pair (``dopri5`` by default) and tolerances ``rtol``, ``atol``. It chooses its own steps
to meet the tolerances and ignores ``steps``; the number of velocity evaluations varies
with the field (count them with the method's ``velocity_networks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from benchmark.core.errors import UserError
from benchmark.core.hooks import Hooked, abstractmethod
from benchmark.core.registry import did_you_mean

State = Tensor | dict[str, Tensor]
#: ``v(x, t)``: the velocity at state ``x`` and time ``t``, shaped like ``x``.
Velocity = Callable[[State, float], State]

#: The adaptive methods of ``torchdiffeq`` (embedded Runge-Kutta pairs).
ADAPTIVE_METHODS = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")
SOLVER_NAMES = ("euler", *ADAPTIVE_METHODS)


class Solver(Hooked):
    """Integrates ``dx/dt = velocity(x, t)`` from ``start`` to ``end``; a subclass defines
    the hook :meth:`integrate`."""

    hooks_doc = "methods/sampling.py"

    @abstractmethod
    def integrate(
        self, velocity: Velocity, x: State, *, start: float, end: float, steps: int
    ) -> State:
        """The state at ``t = end``, starting from ``x`` at ``t = start``."""


@dataclass(frozen=True)
class Euler(Solver):
    """Fixed-step explicit Euler with ``steps`` steps (module docstring)."""

    def integrate(
        self, velocity: Velocity, x: State, *, start: float, end: float, steps: int
    ) -> State:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        h = (end - start) / steps
        for i in range(steps):
            v = velocity(x, start + i * h)
            x = x + h * v if isinstance(x, Tensor) else {m: x[m] + h * v[m] for m in x}
        return x


@dataclass(frozen=True)
class Adaptive(Solver):
    """``torchdiffeq.odeint`` with an adaptive ``method``; ``steps`` is ignored.

    Attributes:
        method: one of :data:`ADAPTIVE_METHODS`.
        rtol: relative error tolerance per step.
        atol: absolute error tolerance per step.
    """

    method: str = "dopri5"
    rtol: float = 1e-5
    atol: float = 1e-5

    def __post_init__(self) -> None:
        if self.method not in ADAPTIVE_METHODS:
            raise UserError(
                f"unknown adaptive solver '{self.method}': "
                f"{did_you_mean(self.method, list(ADAPTIVE_METHODS))}"
            )

    def integrate(
        self, velocity: Velocity, x: State, *, start: float, end: float, steps: int
    ) -> State:
        from torchdiffeq import odeint

        keys = None if isinstance(x, Tensor) else list(x)
        y0 = x if keys is None else tuple(x[m] for m in keys)
        reference = y0 if isinstance(y0, Tensor) else y0[0]
        times = torch.tensor([start, end], device=reference.device, dtype=reference.dtype)

        def field(t: Tensor, y: Tensor | tuple[Tensor, ...]) -> Tensor | tuple[Tensor, ...]:
            if keys is None:
                return velocity(y, float(t))
            v = velocity(dict(zip(keys, y, strict=True)), float(t))
            return tuple(v[m] for m in keys)

        solution = odeint(field, y0, times, rtol=self.rtol, atol=self.atol, method=self.method)
        if keys is None:
            return solution[-1]
        return {m: path[-1] for m, path in zip(keys, solution, strict=True)}


def solver_named(name: str) -> Solver:
    """``"euler"`` or an adaptive method of :data:`ADAPTIVE_METHODS` at default tolerances."""
    if name == "euler":
        return Euler()
    if name not in ADAPTIVE_METHODS:
        raise UserError(f"unknown solver '{name}': {did_you_mean(name, list(SOLVER_NAMES))}")
    return Adaptive(name)


def time_column(t: float, rows: int, like: Tensor) -> Tensor:
    """``Tensor[rows]`` filled with ``t``, on ``like``'s device and in its dtype."""
    return torch.full((rows,), t, device=like.device, dtype=like.dtype)

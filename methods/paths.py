"""Probability paths: where a training pair sits at time ``t``, and the velocity to learn.

Every method here uses the straight path between two endpoints ``x0`` (at ``t = 0``) and
``x1`` (at ``t = 1``), shrunk at the start by ``sigma_min`` as in CrossFlow:

    x_t = (1 - (1 - sigma_min) t) x0 + t x1,        u_t = d x_t / dt = x1 - (1 - sigma_min) x0.

With ``sigma_min = 0`` this is the rectified-flow interpolation ``(1 - t) x0 + t x1``.

**Time conventions.** Two are in use, and a path says which through ``data_time``, the
time at which ``x_t`` is the data:

- ``data_time = 1`` (:data:`TO_DATA`): ``t = 0`` is where generation starts (FlowBind's
  shared anchor, CFM's Gaussian noise, CrossFlow's encoded source) and ``t = 1`` is the
  data. Generation integrates ``dx/dt = v`` forward from ``t = 0`` to ``t = 1``
  (FlowBind encodes a source by integrating its flow backward, from 1 to 0).
- ``data_time = 0`` (:data:`FROM_DATA`, the diffusion convention of UniDiffuser and
  OmniFlow): ``x0`` is the clean data and ``x1 = eps ~ N(0, I)``, so ``t = 0`` is clean
  and ``t = 1`` pure noise, and the target velocity is ``eps - z``. Generation integrates
  backward from ``t = 1`` (noise) to ``t = 0``. The joint and CoDi-style models use it.

Times are ``Tensor[B]``, one per row; the endpoints are ``Tensor[B, D]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class StraightPath:
    """``x_t = (1 - (1 - sigma_min) t) x0 + t x1`` with velocity ``x1 - (1 - sigma_min) x0``.

    Attributes:
        sigma_min: how far the start is shrunk (CrossFlow's 1e-5; 0 for the others).
        data_time: the time at which the path is at the data, 1 or 0 (module docstring).
    """

    sigma_min: float = 0.0
    data_time: float = 1.0

    def __post_init__(self) -> None:
        if self.data_time not in (0.0, 1.0):
            raise ValueError(f"data_time must be 0 or 1, got {self.data_time}")
        if not 0.0 <= self.sigma_min < 1.0:
            raise ValueError(f"sigma_min must lie in [0, 1), got {self.sigma_min}")

    @property
    def start_time(self) -> float:
        """The other end of the path, where generation starts."""
        return 1.0 - self.data_time

    def sample(self, x0: Tensor, x1: Tensor, t: Tensor) -> Tensor:
        """The point ``x_t: Tensor[B, D]`` between ``x0`` and ``x1`` at times ``t: Tensor[B]``."""
        t = t[:, None]
        return (1 - (1 - self.sigma_min) * t) * x0 + t * x1

    def velocity(self, x0: Tensor, x1: Tensor) -> Tensor:
        """The target velocity ``x1 - (1 - sigma_min) x0`` (the same at every ``t``)."""
        return x1 - (1 - self.sigma_min) * x0


#: ``t = 0`` the start (anchor, noise, encoded source), ``t = 1`` the data.
TO_DATA = StraightPath()
#: ``t = 0`` the clean data ``x0``, ``t = 1`` the noise ``x1``.
FROM_DATA = StraightPath(data_time=0.0)

"""Every registered method passes the same contract (tests/support/method_contract.py); the
solvers and paths every method samples and trains with give known answers."""

from __future__ import annotations

import math

import pytest
import torch

from methods import METHODS
from methods.paths import FROM_DATA, StraightPath
from methods.sampling import Adaptive, Euler
from support.method_contract import check_method_contract

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.mark.parametrize("name", METHODS.names())
def test_method_meets_the_contract(name: str) -> None:
    check_method_contract(METHODS.get(name))


def test_euler_steps_on_the_grid_the_methods_were_written_with() -> None:
    """Forward: ``t = i dt``, ``x + dt v``; backward: ``t = 1 - i dt``, ``x - dt v``, bit for
    bit, on a tensor and on a dict of tensors."""
    steps, dt = 7, 1.0 / 7
    x0 = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    times: list[float] = []

    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        times.append(t)
        return torch.sin(x) * t

    forward, backward = x0, x0
    for i in range(steps):
        forward = forward + dt * velocity(forward, i * dt)
    for i in range(steps):
        backward = backward - dt * velocity(backward, 1.0 - i * dt)
    expected = times.copy()
    times.clear()
    assert torch.equal(Euler().integrate(velocity, x0, start=0.0, end=1.0, steps=steps), forward)
    state = Euler().integrate(
        lambda s, t: {"a": velocity(s["a"], t)}, {"a": x0}, start=1.0, end=0.0, steps=steps
    )
    assert torch.equal(state["a"], backward)
    assert times == expected


@pytest.mark.parametrize(("start", "end"), [(0.0, 1.0), (1.0, 0.0)])
def test_adaptive_solver_integrates_exponential_growth(start: float, end: float) -> None:
    x0 = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    x1 = Adaptive(rtol=1e-8, atol=1e-8).integrate(lambda x, t: x, x0, start=start, end=end, steps=1)
    assert torch.allclose(x1, x0 * math.exp(end - start), rtol=1e-6)


def test_straight_path_ends_and_velocity() -> None:
    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    path = StraightPath(sigma_min=0.1)
    t, h = torch.full((4,), 0.3), 1e-3
    assert torch.allclose(path.sample(x0, x1, torch.zeros(4)), x0)
    assert torch.allclose(path.sample(x0, x1, torch.ones(4)), x1 + 0.1 * x0)
    slope = (path.sample(x0, x1, t + h) - path.sample(x0, x1, t)) / h
    assert torch.allclose(slope, path.velocity(x0, x1), atol=1e-3)
    assert (FROM_DATA.data_time, FROM_DATA.start_time) == (0.0, 1.0)

"""Linear-Gaussian known answers: a truth a trained method's text2image samples must match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from support.batches import fit

if TYPE_CHECKING:
    import pytorch_lightning as pl


@dataclass(frozen=True)
class LinearGaussian:
    """A known answer: text ``s ~ N(0, I)`` and image ``y = A s + b + sigma e``, ``e ~ N(0, I)``.

    Given ``s``, ``y ~ N(A s + b, sigma^2 I)``; the marginal is ``N(b, A A^T + sigma^2 I)``
    and ``Cov(y, s) = A``. ``bounds`` maps names of :meth:`errors` to the open interval a
    trained model's error must fall in; ``samples`` is how many texts it is measured on.
    """

    a: Tensor
    b: Tensor
    sigma: float
    bounds: dict[str, tuple[float, float]]
    samples: int

    def pairs(self, n: int, seed: int) -> tuple[Tensor, Tensor]:
        g = torch.Generator().manual_seed(seed)
        s = torch.randn(n, self.a.shape[1], generator=g)
        return s, s @ self.a.T + self.b + self.sigma * torch.randn(n, self.a.shape[0], generator=g)

    def batches(self, count: int, size: int = 256) -> list[dict]:
        """``count`` freshly drawn batches (seeds 1000, 1001, ...) of text-image pairs only."""
        every = torch.ones(size, dtype=torch.bool)
        batches = []
        for i in range(count):
            s, y = self.pairs(size, seed=1000 + i)
            batches.append({"text": s, "image": y, "present": {"text": every, "image": every}})
        return batches

    def errors(self, model: pl.LightningModule) -> dict[str, float]:
        """How far ``model``'s text2image samples (20 Euler steps, seeded) are from the truth.

        ``mean``: largest error of the mean; ``covariance``: largest entry error and
        ``relative_covariance``: Frobenius error relative to the truth's, of the
        marginal covariance; ``cross``: largest entry error of ``Cov(y, s)``;
        ``residual_mean``, ``residual_std``: largest mean and average standard deviation
        of the residual ``y - (A s + b)`` (the truth: 0 and ``sigma``);
        ``conditional_mse``: mean squared residual (the truth: ``sigma^2``).
        """
        s, _ = self.pairs(self.samples, seed=7)
        generator = torch.Generator().manual_seed(0)
        y = model.generate({"text": s}, ["image"], steps=20, generator=generator)["image"]
        k = s.shape[1]
        joint = torch.cov(torch.cat([s, y], dim=1).T)
        truth = self.a @ self.a.T + self.sigma**2 * torch.eye(self.a.shape[0])
        residual = y - (s @ self.a.T + self.b)
        return {
            "mean": (y.mean(dim=0) - self.b).abs().max().item(),
            "covariance": (joint[k:, k:] - truth).abs().max().item(),
            "relative_covariance": (
                torch.linalg.norm(joint[k:, k:] - truth) / torch.linalg.norm(truth)
            ).item(),
            "cross": (joint[k:, :k] - self.a).abs().max().item(),
            "residual_mean": residual.mean(dim=0).abs().max().item(),
            "residual_std": residual.std(dim=0).mean().item(),
            "conditional_mse": residual.pow(2).mean().item(),
        }

    def check_learned_by(self, model: pl.LightningModule, steps: int) -> None:
        """Train ``model`` for ``steps`` Lightning steps on fresh batches; every bounded
        error of its samples must fall inside its bounds."""
        fit(model, self.batches(steps))
        errors = self.errors(model)
        outside = {k: errors[k] for k, (lo, hi) in self.bounds.items() if not lo < errors[k] < hi}
        assert not outside, f"outside {self.bounds}: {outside} (all errors: {errors})"


#: Two-dimensional text and image, ``sigma = 0.1`` (the joint and CoDi known answers).
#: Truth: mean ``b``, covariance ``A A^T + 0.01 I`` (entries up to 1.26), cross-covariance
#: ``A``. With 4000 samples the sampling error of a mean is ~0.02 and of a covariance
#: entry ~0.03, so the 0.15 tolerance is ~5 standard errors and leaves room for a
#: 400-step model (observed errors <= 0.08), while a model that ignores the source
#: (cross-covariance 0) or outputs N(0, I) fails it. The conditional error must be near
#: ``sigma^2 = 0.01``, far below the ~1.1 of the marginal.
GAUSSIAN_2D = LinearGaussian(
    a=torch.tensor([[1.0, 0.5], [-0.5, 0.8]]),
    b=torch.tensor([0.5, -1.0]),
    sigma=0.1,
    bounds={"mean": (0, 0.15), "covariance": (0, 0.15), "cross": (0, 0.15),
            "conditional_mse": (0, 0.1)},
    samples=4000,
)
#: Four-dimensional text, six-dimensional image, ``sigma = 0.3`` (CFM and CrossFlow).
#: The residual ``y - (A s + b)`` must have mean below 0.1 per dimension (the marginal
#: std per dimension is ~1) and std in [0.2, 0.55] around the true 0.3 - a model that
#: ignored the source would have ~1; the marginal mean must be within 0.1 of ``b`` and
#: the covariance within 15% (Frobenius, relative) of ``A A^T + 0.09 I``.
GAUSSIAN_4_TO_6 = LinearGaussian(
    a=torch.randn(6, 4, generator=torch.Generator().manual_seed(0)) / 2,
    b=torch.randn(6, generator=torch.Generator().manual_seed(1)),
    sigma=0.3,
    bounds={"residual_mean": (0, 0.1), "residual_std": (0.2, 0.55), "mean": (0, 0.1),
            "relative_covariance": (0, 0.15)},
    samples=2000,
)

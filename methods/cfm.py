"""Standard conditional flow matching, one model per ordered ``(source, target)`` pair.

The pair model ``v(x, t | c)`` moves Gaussian noise (``t = 0``) to the target embedding
(``t = 1``) given the source embedding ``c``, along the straight path
:data:`~methods.paths.TO_DATA` (sigma_min = 0, time running noise -> data as in FlowBind):

    x_t = (1 - t) * eps + t * z_tgt,      eps ~ N(0, I),
    L   = mean || v(x_t, t | c) - (z_tgt - eps) ||^2,

with ``t ~ U(0, 1)`` by default (``time_sampling="uniform"``, the standard choice of
Lipman et al. and of the flow-matching baseline we compare with; ``"logit_normal"``
draws ``t = sigmoid(n), n ~ N(0, 1)`` as CrossFlow does, and is an option). ``v`` is a
:class:`~methods.nets.drift.DriftNetwork` over the target width with
``cond_dim = D_src``: the source embedding is projected and added to the time embedding.

**Classifier-free guidance.** With probability ``cond_dropout`` (0.1) a row's condition is
replaced by a learned null vector ``c_null`` (initialised to zero). A learned vector
rather than zeros, because zero is a genuine input here: it is the mean of a
standardized embedding. Guided velocity, with ``v_c = v(x, t | c)`` and
``v_u = v(x, t | c_null)``:

    v = v_u + s * (v_c - v_u);   ``guidance=None`` (or ``s = 1``) is ``v = v_c``.

**Sampling.** ``x_0 = eps ~ N(0, I)`` drawn from the generator, then the ODE
``dx/dt = v(x, t)`` from ``t = 0`` to ``1`` (Euler: ``x <- x + dt * v(x, t)``).

**Training items.** The ``source -> target`` model trains on every row holding both
modalities (:mod:`methods.pairwise`): a row holding all three modalities trains each of
the six pair models once, as a pair row would, its third modality unused; a row holding
one modality trains nothing, and a batch of such rows is skipped.

**Many-to-one.** Sources ``c_1..c_n`` never appear together in training (each model has
one source, on rows with all three modalities too). Assuming the sources are
conditionally independent given the target, Bayes gives
``p(z | c_1..c_n) ∝ p(z) * prod_i p(z | c_i) / p(z)``, so the scores add:
``∇log p(z | c_1..c_n) = ∇log p(z) + sum_i (∇log p(z | c_i) - ∇log p(z))``. For a
Gaussian path the velocity is affine in the score with coefficients that do not depend
on the condition, and the weights here sum to one, so the same composition holds for
velocities (the compositional guidance of Liu et al., 2022, and of OmniFlow):

    v = mean_i v_u,i + s * sum_i (v_c,i - v_u,i),

where ``v_c,i, v_u,i`` come from the ``c_i -> target`` model and ``s = 1`` when
``guidance`` is None. The rule is exact at ``t = 1`` and an approximation at noisy
``t`` (as in every score-composition method). With one source it is the guided velocity
above.

**One-to-many.** Each target from its own model, independently given the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.core.modalities import Modality
from methods.base import MethodConfig, SamplingCall
from methods.nets.drift import DriftNetwork, DriftShape
from methods.pairwise import PairwiseMethod
from methods.paths import TO_DATA

TIME_SAMPLINGS = ("uniform", "logit_normal")


@dataclass(frozen=True, kw_only=True)
class CFMConfig(MethodConfig, DriftShape):
    """CFM's settings: the template's and each pair's drift network's, then its own.

    Attributes:
        cond_dropout: probability of replacing a row's condition by the null vector.
        time_sampling: ``"uniform"`` or ``"logit_normal"`` training times.
        guidance: default classifier-free guidance scale (``None``: no guidance).
    """

    cond_dropout: float = 0.1
    time_sampling: str = "uniform"
    guidance: float | None = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_choice("time_sampling", TIME_SAMPLINGS)
        self.check_fraction("cond_dropout")


class CFMPair(nn.Module):
    """One ``source -> target`` model: a conditional drift network and its null condition."""

    def __init__(self, source_dim: int, target_dim: int, c: CFMConfig) -> None:
        super().__init__()
        self.drift = DriftNetwork(target_dim, c, cond_dim=source_dim)
        self.null = nn.Parameter(torch.zeros(source_dim))

    def branches(self, x: Tensor, t: Tensor, cond: Tensor) -> tuple[Tensor, Tensor]:
        """``(v_c, v_u)`` at ``x``, ``t`` in one batched forward pass."""
        null = self.null.expand_as(cond)
        v = self.drift(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, null]))
        return v.chunk(2)


class CFM(PairwiseMethod):
    """Conditional flow matching from noise, one conditional drift network per ordered pair.

    The ``paper`` preset uses the backbone size of CrossFlow's paper model (CrossFlow
    compares against standard flow matching with the same network): hidden 1536, depth
    36; for 768-d embeddings one pair model has exactly 941,022,720 parameters (drift
    941,021,952, null vector 768).
    """

    name: ClassVar[str] = "cfm"
    presets: ClassVar[Mapping[str, CFMConfig]] = {
        # Sized for a 2-core CPU on 64-d embeddings: one pair model (one directed task) at
        # batch 256 of pair groups (~85 paired rows) takes ~15 ms per optimiser step on one
        # thread, so the default 3000 steps train in about 45-55 s. Guidance 1 (none):
        # on the Gaussian toy problem (tests/methods/test_cfm.py) s = 1.5 already inflated the
        # marginal covariance eight-fold; s = 1 samples the learned conditional itself.
        "tiny": CFMConfig(hidden=256, depth=3, max_steps=3000),
        # CrossFlow's paper backbone size, its optimiser recipe and 50 Euler steps.
        "paper": CFMConfig(
            hidden=1536, depth=36, lr=1e-4, warmup_steps=5000, batch_size=1024,
            max_steps=300_000, sampling_steps=50,
        ),
    }

    config: CFMConfig

    def build_pair(self, source: Modality, target: Modality) -> CFMPair:
        return CFMPair(self.dims[source], self.dims[target], self.config)

    def _times(self, n: int, like: Tensor) -> Tensor:
        if self.config.time_sampling == "uniform":
            return torch.rand(n, device=like.device, dtype=like.dtype)
        return torch.sigmoid(torch.randn(n, device=like.device, dtype=like.dtype))

    def pair_loss(self, model: nn.Module, source: Tensor, target: Tensor) -> Tensor:
        """``mean || v(x_t, t | c) - (z_tgt - eps) ||^2`` with condition dropout."""
        n = target.shape[0]
        t = self._times(n, target)
        eps = torch.randn_like(target)
        x_t = TO_DATA.sample(eps, target, t)
        drop = torch.rand(n, device=source.device) < self.config.cond_dropout
        cond = torch.where(drop[:, None], model.null.expand_as(source), source)
        return F.mse_loss(model.drift(x_t, t, cond), TO_DATA.velocity(eps, target))

    def initial_state(self, target: Modality, call: SamplingCall) -> Tensor:
        """``eps ~ N(0, I)`` of shape ``[B, D_target]``, drawn from the call's generator."""
        return self.noise(target, call.reference, call.generator)

    def velocity(self, target: Modality, call: SamplingCall, x: Tensor, t: Tensor) -> Tensor:
        """``mean_i v_u,i + s sum_i (v_c,i - v_u,i)``; just ``v_c`` for one source and s = 1."""
        if len(call.sources) == 1 and call.guidance is None:
            ((source, cond),) = call.sources.items()
            return self.pair_model(source, target).drift(x, t, cond)
        scale = 1.0 if call.guidance is None else call.guidance
        unconditional, difference = torch.zeros_like(x), torch.zeros_like(x)
        for source, cond in call.sources.items():
            v_c, v_u = self.pair_model(source, target).branches(x, t, cond)
            unconditional = unconditional + v_u
            difference = difference + (v_c - v_u)
        return unconditional / len(call.sources) + scale * difference

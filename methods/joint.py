"""Joint: one network over all modalities, one time per modality (UniDiffuser / OmniFlow).

This is the rectified-flow form of UniDiffuser (arXiv 2303.06555), as OmniFlow
(arXiv 2412.01169) writes it. Every modality ``m`` is perturbed with its own time
``t_m`` in ``[0, 1]`` (``t = 0`` clean, ``t = 1`` pure noise: :data:`~methods.paths.FROM_DATA`):

    x_m(t_m) = (1 - t_m) * z_m + t_m * eps_m,         eps_m ~ N(0, I),

and one network ``v(x_text, x_image, x_audio; t_text, t_image, t_audio)`` predicts every
modality's velocity ``d x_m / d t_m = eps_m - z_m`` at once.

**Network (a U-ViT over modality slots).** Each modality is one token:
``h_m = W_m x_m + e_m + T(t_m)`` with a per-modality input projection ``W_m``, a learned
modality embedding ``e_m`` and a time embedding ``T = MLP(sinusoid(t))`` (shared MLP,
applied to each slot's own time). A pre-LN transformer trunk mixes the slots with U-ViT's
long skips: ``depth // 2`` "in" blocks, one middle block and ``depth // 2`` "out" blocks,
out block ``i`` first mixing in the output of in block ``depth // 2 - 1 - i`` through
``Linear(2H, H)``. Each slot is read out by ``LN`` then ``Linear(H, D_m)``. UniDiffuser
gives the times their own tokens; with only three slots we add them to the slots instead,
which keeps the sequence at three tokens (attention over 3 tokens is cheap, and a
transformer over the slots is what lets every modality condition every other).

**Training on partially paired data.** For each row, present modalities get independent
``t_m ~ U(0, 1)``; absent modalities get ``t_m = 1`` (their slot is pure noise) and no
loss. A row with two or more present modalities is, with probability
``conditional_prob``, put in *conditional mode*: one present modality, chosen uniformly,
is set to ``t = 0`` (a clean condition, as in UniDiffuser's conditional sampling) and
gets no loss; else with probability ``marginal_prob`` it is in *marginal mode*: one
present modality is set to ``t = 1`` and treated as absent, which teaches the
unconditional branch used by guidance. The loss is the mean over the remaining
(row, modality) terms of ``|| v_m - (eps_m - z_m) ||^2`` (mean over dimensions).

**Training items.** A row holding one modality trains the network as an unconditional
generator of it (the other slots pure noise at ``t = 1``; no conditional or marginal
mode), so the joint model learns from single-modality rows too, and skips a batch only
when no row holds any of its modalities (:meth:`Joint.has_signal`). A row holding all
three modalities is one row with three scored slots at independent times; its
conditional mode cleans one of them (the other two are learned jointly given it) and its
marginal mode drops one (leaving a pair). No mode cleans two slots at once.

**Sampling.** Sources are clean (``t = 0``); the targets share one time ``t`` that goes
from 1 to 0 (Euler: ``steps`` steps ``x <- x - dt * v``); modalities in neither side of
the task are held at ``t = 1`` with fixed noise. One-to-many tasks sample all targets
jointly from the one model; many-to-one tasks condition on every source at once (no
training mode cleans two slots, triplets or not, so two clean slots at once are out of
distribution: this relies on the trunk composing what it learned from pairs).

**Guidance.** ``v_hat = v_u + s * (v_c - v_u)``, where ``v_u`` is the same network with
every source replaced by fixed noise at ``t = 1`` (UniDiffuser's marginal as the
unconditional branch); ``guidance=None`` or ``s = 1`` is the plain conditional and
skips the second pass. UniDiffuser's code writes ``v_c + w * (v_c - v_u)`` with ``w = 7``, which is
``s = w + 1 = 8`` in this form, so the ``paper`` preset uses 8.

All noise (target starts, held-out slots, the unconditional sources) is drawn from the
``generator`` passed to :meth:`Joint.generate`, so sampling is deterministic given it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.core.errors import UserError
from benchmark.core.modalities import Modality
from benchmark.core.tasks import Task
from methods.base import (
    AnyToAnyMethod,
    Batch,
    MethodConfig,
    Objective,
    SamplingCall,
    present_matrix,
)
from methods.nets.drift import DriftShape, timestep_embedding
from methods.paths import FROM_DATA


@dataclass(frozen=True, kw_only=True)
class JointConfig(MethodConfig, DriftShape):
    """The joint model's settings: the template's, the U-ViT's size, then its own.

    ``hidden`` is the width of the slot tokens and ``depth`` the U-ViT depth (``depth // 2``
    in blocks, one middle block, ``depth // 2`` out blocks).

    Attributes:
        heads: attention heads (``hidden`` must be divisible by it).
        conditional_prob: probability that a paired row has one modality clean (``t = 0``).
        marginal_prob: probability that a paired row has one modality dropped (``t = 1``).
        guidance: default guidance scale ``s`` (``None``: no guidance).
    """

    heads: int
    conditional_prob: float = 0.5
    marginal_prob: float = 0.1
    guidance: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_fraction("conditional_prob", "marginal_prob")
        if self.conditional_prob + self.marginal_prob > 1.0:
            raise UserError("joint conditional_prob + marginal_prob must not exceed 1")
        if self.hidden % self.heads:
            raise UserError(
                f"joint hidden ({self.hidden}) must be divisible by heads ({self.heads})"
            )


class SlotUViT(nn.Module):
    """``v({x_m}, {t_m}) -> {v_m}``: a U-ViT whose tokens are the modality slots.

    Args:
        dims: embedding width of each modality, in slot order.
        hidden, depth, heads, mlp_ratio: trunk shape (see :class:`JointConfig`).
        time_embed_dim, time_max_period: sinusoidal time features.
    """

    def __init__(
        self,
        dims: Mapping[Modality, int],
        hidden: int,
        depth: int,
        heads: int,
        mlp_ratio: int,
        time_embed_dim: int,
        time_max_period: float,
    ) -> None:
        super().__init__()
        self.modalities: list[Modality] = list(dims)
        self.time_embed_dim = time_embed_dim
        self.time_max_period = time_max_period
        self.input_proj = nn.ModuleDict({m: nn.Linear(d, hidden) for m, d in dims.items()})
        self.modality_embed = nn.Parameter(torch.randn(len(dims), hidden) * 0.02)
        self.time_mlp = nn.Sequential(
            nn.Linear(time_embed_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
        )

        def block() -> nn.TransformerEncoderLayer:
            return nn.TransformerEncoderLayer(
                hidden,
                heads,
                mlp_ratio * hidden,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )

        self.in_blocks = nn.ModuleList(block() for _ in range(depth // 2))
        self.mid_block = block()
        self.out_blocks = nn.ModuleList(block() for _ in range(depth // 2))
        self.skips = nn.ModuleList(nn.Linear(2 * hidden, hidden) for _ in range(depth // 2))
        self.output_proj = nn.ModuleDict(
            {m: nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, d)) for m, d in dims.items()}
        )

    def forward(self, xs: Mapping[Modality, Tensor], t: Tensor) -> dict[Modality, Tensor]:
        """Velocities ``{m: Tensor[B, D_m]}`` at slots ``xs`` and times ``t: Tensor[B, M]``."""
        n, slots = t.shape
        reference = xs[self.modalities[0]]
        features = timestep_embedding(t.reshape(-1), self.time_embed_dim, self.time_max_period)
        time = self.time_mlp(features.to(reference.dtype)).reshape(n, slots, -1)
        tokens = torch.stack([self.input_proj[m](xs[m]) for m in self.modalities], dim=1)
        h = tokens + self.modality_embed + time
        skipped = []
        for layer in self.in_blocks:
            h = layer(h)
            skipped.append(h)
        h = self.mid_block(h)
        for layer, skip in zip(self.out_blocks, self.skips, strict=True):
            h = layer(skip(torch.cat([h, skipped.pop()], dim=-1)))
        return {m: self.output_proj[m](h[:, i]) for i, m in enumerate(self.modalities)}


class Joint(AnyToAnyMethod):
    """One joint velocity network over all modalities, one time per modality.

    Every task (directed, many-to-one, one-to-many) is served by the same network, so
    ``tasks`` is accepted for the common constructor and does not change what is built,
    and :meth:`parameter_count` is the whole network for any non-empty set of tasks.
    """

    name: ClassVar[str] = "joint"
    presets: ClassVar[Mapping[str, JointConfig]] = {
        # Sized for a 2-core CPU on 64-d embeddings: 3 transformer blocks, 128 wide, 4 heads
        # over 3 slot tokens (~0.7M parameters). One optimiser step at batch 256 takes ~45 ms
        # on one thread (measured), so the default 1200 steps train in about 55 s.
        # Guidance 1.5: on the 64-d synthetic problem of tests/methods/test_flowbind.py (400 steps)
        # s = 1.5 cut text2image / audio2text MSE by ~20% against no guidance while the
        # covariance error grew from 0.105 to 0.114 (relative); s = 2 and 3 gave no more MSE
        # and more covariance error.
        "tiny": JointConfig(
            hidden=128, depth=2, heads=4, time_embed_dim=64, guidance=1.5, max_steps=1200
        ),
        # UniDiffuser's U-ViT: 1536 wide, depth 30 (31 blocks), 24 heads, lr 2e-4, batch
        # 1024, 5000 warm-up steps; 50 sampling steps (they use DPM-Solver, we use Euler).
        "paper": JointConfig(
            hidden=1536, depth=30, heads=24, guidance=8.0,
            lr=2e-4, warmup_steps=5000, batch_size=1024, max_steps=200_000, sampling_steps=50,
        ),
    }

    config: JointConfig

    def build(self, tasks: list[Task]) -> None:
        c = self.config
        self.network = SlotUViT(
            self.dims, c.hidden, c.depth, c.heads, c.mlp_ratio, c.time_embed_dim, c.time_max_period
        )

    # ------------------------------------------------------------------ training

    def has_signal(self, batch: Batch) -> bool:
        """Whether some row holds some modality: a single one is an unconditional term."""
        return bool(present_matrix(batch, list(self.dims)).any())

    def objective(self, batch: Batch) -> Objective:
        """Mean velocity error over present, non-conditioning (row, modality) terms.

        See the module docstring for the time sampling. A modality missing from
        ``batch["present"]`` counts as absent in every row.
        """
        modalities = list(self.dims)
        present = present_matrix(batch, modalities)
        n, device = present.shape[0], present.device
        paired = present.sum(dim=1) >= 2
        mode = torch.rand(n, device=device)
        conditional = paired & (mode < self.config.conditional_prob)
        marginal = (
            paired
            & (mode >= self.config.conditional_prob)
            & (mode < self.config.conditional_prob + self.config.marginal_prob)
        )
        score = torch.rand(present.shape, device=device).masked_fill(~present, -1.0)
        chosen = F.one_hot(score.argmax(dim=1), len(modalities)).bool() & present

        t = torch.rand(present.shape, device=device)
        t = torch.where(chosen & conditional[:, None], torch.zeros_like(t), t)
        t = torch.where(chosen & marginal[:, None] | ~present, torch.ones_like(t), t)
        scored = present & ~(chosen & (conditional | marginal)[:, None])
        if not scored.any():
            raise ValueError("batch has no present modality to train on")

        xs, velocities = {}, {}
        for i, m in enumerate(modalities):
            z = batch[m] if m in batch else torch.zeros(n, self.dims[m], device=device)
            z = z * present[:, i, None]
            eps = torch.randn_like(z)
            xs[m] = FROM_DATA.sample(z, eps, t[:, i].to(z.dtype))
            velocities[m] = FROM_DATA.velocity(z, eps)
        predicted = self.network(xs, t)
        errors = torch.stack(
            [
                F.mse_loss(predicted[m], velocities[m], reduction="none").mean(dim=1)
                for m in modalities
            ],
            dim=1,
        )
        return Objective((errors * scored).sum() / scored.sum())

    # ----------------------------------------------------------------- inference

    def sample(self, call: SamplingCall) -> dict[Modality, Tensor]:
        """Sample the targets jointly given clean sources (see the module docstring).

        The state is the targets' slots, integrated from ``t = 1`` to ``t = 0``; the other
        slots stay fixed. With guidance ``s`` each evaluation runs the conditional and the
        unconditional branch in one batched pass and uses ``v_u + s * (v_c - v_u)``.
        """
        sources, targets, guidance = call.sources, call.targets, call.guidance
        reference = call.reference
        n, device, dtype = reference.shape[0], reference.device, reference.dtype
        modalities = list(self.dims)
        slots = {
            m: sources[m].to(dtype) if m in sources else self.noise(m, reference, call.generator)
            for m in modalities
        }
        source_t = torch.tensor([0.0 if m in sources else 1.0 for m in modalities], device=device)
        is_target = torch.tensor([m in targets for m in modalities], device=device)
        is_source = torch.tensor([m in sources for m in modalities], device=device)
        if guidance is not None:
            unconditional = {m: self.noise(m, reference, call.generator) for m in sources}

        def flow(state: dict[Modality, Tensor], time: float) -> dict[Modality, Tensor]:
            xs = slots | state
            t = torch.where(is_target, torch.full_like(source_t, time), source_t).expand(n, -1)
            if guidance is None:
                v = self.network(xs, t)
                return {m: v[m] for m in targets}
            both = {
                m: torch.cat([x, unconditional[m] if m in sources else x]) for m, x in xs.items()
            }
            t_u = torch.where(is_source, 1.0, t)
            out = self.network(both, torch.cat([t, t_u]))
            return {m: out[m][n:] + guidance * (out[m][:n] - out[m][n:]) for m in targets}

        return call.integrate(flow, {m: slots[m] for m in targets}, FROM_DATA)

    def serving_parts(self, tasks: list[Task]) -> list[nn.Module | Tensor]:
        """The whole network: every slot is fed (held-out ones as noise) for every task."""
        return [self.network] if tasks else []

    def velocity_networks(self) -> list[nn.Module]:
        """The one transformer: each call evaluates every modality slot's velocity."""
        return [self.network]

"""CoDi-style composable conditioning (arXiv 2305.11846) over embeddings.

**Aligned conditioning space.** Each modality ``m`` has an MLP encoder ``E_m: D_m -> A``;
its aligned embedding is ``c_m = E_m(z_m) / ||E_m(z_m)||``. Text is the anchor (CoDi's
"bridging alignment"): on text-image rows the image encoder is aligned to the text
encoder, on text-audio rows the audio encoder is, each with the symmetric InfoNCE loss

    L_nce(a, b) = (CE(a b^T / tau, I) + CE(b a^T / tau, I)) / 2

over the rows of the pair (``tau = temperature``). Image-audio rows are *not* used for
alignment: CoDi aligns every modality to text only, and image and audio meet in the
aligned space through text.

**Flows.** Each target modality ``m`` has one conditional rectified flow
``v_m(x, t | c)`` (a :class:`~methods.drift_network.DriftNetwork` with ``cond_dim = A``):

    x(t) = (1 - t) * z_m + t * eps,   t ~ U(0, 1),   target velocity eps - z_m,

``t = 0`` clean, ``t = 1`` noise. The condition of a row is the mean of the aligned
embeddings of the row's *other* present modalities (pair data: the one partner;
triplets, if any: both, which trains composition directly). With probability
``cond_dropout`` the condition is replaced by the flow's learned null vector, for
classifier-free guidance. All pair rows train the flows, image-audio rows included.

**Training.** One stage, one optimiser: ``L = sum_m mean_rows ||v_m - (eps - z_m)||^2 +
contrastive_weight * sum_pairs L_nce``. The conditions are detached before they enter
the flows, so the encoders are shaped only by the alignment loss: this mirrors CoDi,
whose encoders are aligned first and frozen while the diffusion models train, without
a second training stage. Letting the flow loss into the encoders would let it pull the
image and audio encoders away from text, and composition relies on that alignment.

**Sampling.** Sources ``S`` give one condition, their weighted mean
``c = sum_{s in S} w_s c_s`` with equal weights ``w_s = 1 / |S|`` by default (CoDi
lets users set the weights; :meth:`CoDi.generate` takes ``weights``). Each target is
integrated independently by its own flow from ``x(1) = eps`` to ``t = 0`` with Euler
steps ``x <- x - dt * v_hat``, where with guidance ``s``

    v_hat = v(x, t | null) + s * (v(x, t | c) - v(x, t | null));

``guidance=None`` or ``s = 1`` is the plain conditional ``v(x, t | c)`` (one pass).

One-to-many tasks use one condition for every target; the targets are conditionally
independent given it (CoDi couples them through cross-attention between the diffusion
models, which has no counterpart over single embedding vectors).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.core.errors import UserError
from benchmark.core.modalities import Modality
from benchmark.core.tasks import Task
from methods.base import AnyToAnyMethod, Batch, count_parameters
from methods.drift_network import DriftNetwork

ANCHOR: Modality = "text"


@dataclass(frozen=True)
class CoDiConfig:
    """Architecture, objective, optimiser and sampling settings of one CoDi model.

    Attributes:
        hidden: width of each conditional flow's residual stream.
        depth: number of adaLN-Zero blocks per flow.
        align_dim: width ``A`` of the aligned conditioning space.
        encoder_hidden: width of each conditioning encoder's hidden layers.
        lr: Adam learning rate.
        warmup_steps: linear learning-rate warm-up, then constant.
        batch_size: rows per training batch.
        max_steps: default number of optimiser steps for this preset.
        encoder_layers: hidden layers per conditioning encoder.
        mlp_ratio: flow block MLP expansion.
        time_embed_dim: sinusoidal time feature width.
        time_max_period: ``max_period`` of the sinusoidal time features.
        temperature: InfoNCE temperature ``tau``.
        contrastive_weight: weight of the alignment loss.
        cond_dropout: probability of training a row with the null condition.
        sampling_steps: default Euler steps.
        guidance: default classifier-free guidance scale (``None``: no guidance).
    """

    hidden: int
    depth: int
    align_dim: int
    encoder_hidden: int
    lr: float
    warmup_steps: int
    batch_size: int
    max_steps: int
    encoder_layers: int = 2
    mlp_ratio: int = 4
    time_embed_dim: int = 256
    time_max_period: float = 10.0
    temperature: float = 0.1
    contrastive_weight: float = 1.0
    cond_dropout: float = 0.1
    sampling_steps: int = 20
    guidance: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.cond_dropout <= 1.0:
            raise UserError(f"codi cond_dropout must lie in [0, 1], got {self.cond_dropout}")
        if self.temperature <= 0:
            raise UserError(f"codi temperature must be > 0, got {self.temperature}")
        if self.encoder_layers < 1:
            raise UserError(f"codi encoder_layers must be >= 1, got {self.encoder_layers}")
        if self.sampling_steps < 1:
            raise UserError(f"codi sampling_steps must be >= 1, got {self.sampling_steps}")


def info_nce(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """Symmetric InfoNCE of unit-norm rows ``a, b: Tensor[N, A]``; row ``i`` pairs with ``i``."""
    logits = a @ b.T / temperature
    labels = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


class ConditionEncoder(nn.Module):
    """``E(z) / ||E(z)||`` with ``E = Linear -> (GELU -> Linear) * layers``, ``D -> H -> A``."""

    def __init__(self, dim: int, hidden: int, align_dim: int, layers: int) -> None:
        super().__init__()
        widths = [dim] + [hidden] * layers
        modules: list[nn.Module] = []
        for width_in, width_out in itertools.pairwise(widths):
            modules += [nn.Linear(width_in, width_out), nn.GELU()]
        modules.append(nn.Linear(hidden, align_dim))
        self.net = nn.Sequential(*modules)

    def forward(self, z: Tensor) -> Tensor:
        return F.normalize(self.net(z), dim=-1)


class CoDi(AnyToAnyMethod):
    """One conditional flow per target modality, conditioned through an aligned space.

    ``encoders[m]`` maps modality ``m`` into the aligned space; ``flows[m]`` generates
    ``m``; ``null[m]`` is ``flows[m]``'s learned null condition. Every task is served by
    the same networks, so ``tasks`` is accepted for the common constructor and does not
    change what is built; :meth:`parameter_count` counts the sources' encoders and the
    targets' flows (with their null vectors).
    """

    name: ClassVar[str] = "codi"
    presets: ClassVar[Mapping[str, CoDiConfig]] = {
        # FlowBind's tiny flow shape (128 wide, 3 blocks) per target modality plus three
        # 2-layer 128-wide encoders into a 64-d aligned space (~1.9M parameters); ~34 ms per
        # step at batch 256 on one thread (measured), so the default 1500 steps train in
        # about 50 s. No guidance by default: on the 64-d synthetic problem of
        # tests/test_flowbind.py (400 steps) s = 1.5 / 2 / 3 raised text2image MSE from
        # 0.23 to 0.34 / 0.72 / 2.1 and the covariance error from 12% to 93% / 199% / 452%.
        "tiny": CoDiConfig(
            hidden=128,
            depth=3,
            align_dim=64,
            encoder_hidden=128,
            lr=1e-3,
            warmup_steps=100,
            batch_size=256,
            max_steps=1500,
            time_embed_dim=64,
        ),
        # Flows at FlowBind's published per-modality size (1152 wide, 12 blocks, ~179M
        # each) so that the two methods compare at equal generator scale; 768-d aligned
        # space (CLIP ViT-L's width); guidance 7.5 and 50 steps as CoDi's samplers use.
        # This is ~548M (548,011,008), not CoDi's 4.3B: most of those are three latent-diffusion
        # U-Nets over pixels / spectrograms / tokens, their VAEs and the frozen CLIP and
        # CLAP towers, none of which exist when the method sees 768-d embeddings.
        "paper": CoDiConfig(
            hidden=1152,
            depth=12,
            align_dim=768,
            encoder_hidden=1152,
            lr=1e-4,
            warmup_steps=1000,
            batch_size=1024,
            max_steps=200_000,
            sampling_steps=50,
            guidance=7.5,
        ),
    }

    def __init__(
        self,
        dims: Mapping[str, int],
        preset: str = "tiny",
        tasks: Sequence[Task] | None = None,
        **overrides: object,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.config = self.resolve_config(preset, overrides)
        self.dims: dict[Modality, int] = self._check_dims(dims)
        c = self.config
        self.encoders = nn.ModuleDict(
            {
                m: ConditionEncoder(d, c.encoder_hidden, c.align_dim, c.encoder_layers)
                for m, d in self.dims.items()
            }
        )
        self.flows = nn.ModuleDict(
            {
                m: DriftNetwork(
                    d,
                    c.hidden,
                    c.depth,
                    c.mlp_ratio,
                    c.time_embed_dim,
                    c.time_max_period,
                    cond_dim=c.align_dim,
                )
                for m, d in self.dims.items()
            }
        )
        self.null = nn.ParameterDict({m: nn.Parameter(torch.zeros(c.align_dim)) for m in self.dims})


    @staticmethod
    def _check_dims(dims: Mapping[str, int]) -> dict[Modality, int]:
        """Modalities in canonical order; text (the alignment anchor) and one more."""
        ordered = CoDi.canonical_dims(dims)
        if ANCHOR not in ordered:
            raise ValueError(
                f"codi aligns every modality to text: it needs text and at least one other "
                f"modality, got dims {dict(dims)}"
            )
        return ordered

    # ------------------------------------------------------------------ training

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        flow, alignment = self.losses(batch)
        loss = flow + self.config.contrastive_weight * alignment
        batch_size = next(iter(batch["present"].values())).shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log("train/flow_loss", flow, batch_size=batch_size)
        self.log("train/align_loss", alignment, batch_size=batch_size)
        return loss

    def loss(self, batch: Batch) -> Tensor:
        """The training objective ``flow + contrastive_weight * alignment``."""
        flow, alignment = self.losses(batch)
        return flow + self.config.contrastive_weight * alignment

    def losses(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """``(flow loss, alignment loss)`` on one partially paired batch (module docstring)."""
        modalities = [m for m in self.dims if m in batch["present"]]
        present = {m: batch["present"][m].bool() for m in modalities}
        aligned = {m: self.encoders[m](batch[m]) for m in modalities}

        reference = batch[modalities[0]]
        alignment = reference.new_zeros(())
        for m in modalities:
            rows = present[ANCHOR] & present[m] if m != ANCHOR and ANCHOR in present else None
            if rows is not None and rows.sum() >= 2:
                alignment = alignment + info_nce(
                    aligned[ANCHOR][rows], aligned[m][rows], self.config.temperature
                )

        flow = reference.new_zeros(())
        trained = 0
        for m in modalities:
            others = [o for o in modalities if o != m]
            count = sum(present[o].to(reference.dtype) for o in others)
            rows = (present[m] & (count > 0)).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            summed = sum(aligned[o] * present[o][:, None] for o in others)
            cond = (summed / count.clamp(min=1)[:, None])[rows].detach()
            drop = torch.rand(rows.numel(), device=cond.device) < self.config.cond_dropout
            cond = torch.where(drop[:, None], self.null[m].expand_as(cond), cond)
            z = batch[m][rows]
            t = torch.rand(rows.numel(), device=z.device, dtype=z.dtype)
            eps = torch.randn_like(z)
            x_t = (1 - t[:, None]) * z + t[:, None] * eps
            flow = flow + F.mse_loss(self.flows[m](x_t, t, cond), eps - z)
            trained += 1
        if trained == 0:
            raise ValueError("batch has no paired row: codi learns only from pairs")
        return flow, alignment


    # ----------------------------------------------------------------- inference

    def condition(
        self, sources: Mapping[Modality, Tensor], weights: Mapping[Modality, float] | None = None
    ) -> Tensor:
        """``c = sum_s w_s c_s`` (``w_s`` normalised to sum 1; equal weights by default)."""
        w = {m: 1.0 for m in sources} if weights is None else {m: weights[m] for m in sources}
        total = sum(w.values())
        if total <= 0:
            raise ValueError(f"condition weights must sum to > 0, got {w}")
        return sum(w[m] / total * self.encoders[m](x) for m, x in sources.items())

    @torch.no_grad()
    def generate(
        self,
        sources: Mapping[Modality, Tensor],
        targets: Sequence[Modality],
        *,
        steps: int,
        guidance: float | None = None,
        generator: torch.Generator | None = None,
        weights: Mapping[Modality, float] | None = None,
    ) -> dict[Modality, Tensor]:
        """Each target from its own flow given the combined condition (module docstring).

        The starting noise of every target is drawn from ``generator``; with guidance the
        conditional and null branches run as one batched pass per step.
        """
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if not sources or not targets:
            raise ValueError("generate needs at least one source and one target")
        if set(sources) & set(targets):
            raise ValueError("a modality cannot be both a source and a target")
        missing = sorted((set(sources) | set(targets)) - set(self.dims))
        if missing:
            raise ValueError(f"this codi model has no network for '{missing[0]}'")
        was_training = self.training
        self.eval()
        try:
            cond = self.condition(sources, weights)
            guided = guidance is not None and guidance != 1.0
            n, dt = cond.shape[0], 1.0 / steps
            out = {}
            for m in targets:
                x = torch.randn(
                    n, self.dims[m], generator=generator, device=cond.device, dtype=cond.dtype
                )
                c = cond if not guided else torch.cat([cond, self.null[m].expand_as(cond)])
                for i in range(steps):
                    t = torch.full((c.shape[0],), 1.0 - i * dt, device=x.device, dtype=x.dtype)
                    if not guided:
                        v = self.flows[m](x, t, c)
                    else:
                        both = self.flows[m](torch.cat([x, x]), t, c)
                        v = both[n:] + guidance * (both[:n] - both[n:])
                    x = x - dt * v
                out[m] = x
            return out
        finally:
            self.train(was_training)

    def refusal(self, task: Task) -> str | None:
        """CoDi serves every task over its modalities (directed, many-to-one, one-to-many)."""
        missing = [m for m in (*task.sources, *task.targets) if m not in self.dims]
        if missing:
            return f"this codi model was built without '{missing[0]}'"
        return None

    def parameter_count(self, tasks: Iterable[Task]) -> int:
        """Encoders of every source and flows (with null vectors) of every target."""
        sources: set[Modality] = set()
        targets: set[Modality] = set()
        for task in tasks:
            reason = self.refusal(task)
            if reason is not None:
                raise ValueError(f"cannot serve task '{task}': {reason}")
            sources.update(task.sources)
            targets.update(task.targets)
        modules: list[nn.Module] = [self.encoders[m] for m in self.dims if m in sources]
        modules += [self.flows[m] for m in self.dims if m in targets]
        nulls = sum(self.null[m].numel() for m in self.dims if m in targets)
        return count_parameters(modules) + nulls

    @property
    def default_sampling_steps(self) -> int:
        return self.config.sampling_steps

    @property
    def default_guidance(self) -> float | None:
        return self.config.guidance

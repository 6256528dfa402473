"""CoDi-style composable conditioning (arXiv 2305.11846) over embeddings.

**Aligned conditioning space.** Each modality ``m`` has an MLP encoder ``E_m: D_m -> A``;
its aligned embedding is ``c_m = E_m(z_m) / ||E_m(z_m)||``. Text is the anchor (CoDi's
"bridging alignment"): on text-image rows the image encoder is aligned to the text
encoder, on text-audio rows the audio encoder is, each with the symmetric InfoNCE loss
(:func:`~methods.losses.info_nce`)

    L_nce(a, b) = (CE(a b^T / tau, I) + CE(b a^T / tau, I)) / 2

over the rows of the pair (``tau = temperature``). Image-audio rows are *not* used for
alignment: CoDi aligns every modality to text only, and image and audio meet in the
aligned space through text.

**Flows.** Each target modality ``m`` has one conditional rectified flow
``v_m(x, t | c)`` (a :class:`~methods.nets.drift.DriftNetwork` with ``cond_dim = A``):

    x(t) = (1 - t) * z_m + t * eps,   t ~ U(0, 1),   target velocity eps - z_m,

``t = 0`` clean, ``t = 1`` noise (:data:`~methods.paths.FROM_DATA`). The condition of a
row is the mean of the aligned embeddings of the row's *other* present modalities (pair
data: the one partner; triplets, if any: both, which trains composition directly). With
probability ``cond_dropout`` the condition is replaced by the flow's learned null vector,
for classifier-free guidance. All pair rows train the flows, image-audio rows included.

**Training.** One stage, one optimiser: ``L = sum_m mean_rows ||v_m - (eps - z_m)||^2 +
contrastive_weight * sum_pairs L_nce``. The conditions are detached before they enter
the flows, so the encoders are shaped only by the alignment loss: this mirrors CoDi,
whose encoders are aligned first and frozen while the diffusion models train, without
a second training stage. Letting the flow loss into the encoders would let it pull the
image and audio encoders away from text, and composition relies on that alignment.

**Training items.** A row holding all three modalities is a text-image and a
text-audio row of the alignment loss (one more row of each InfoNCE batch), and each of
its modalities is a flow target conditioned on the mean of the other two's aligned
embeddings. A row holding one modality gives no alignment pair and no condition, so it
trains nothing; a batch without a row holding two modalities is skipped (the template's
``has_signal``).

**Sampling.** Sources ``S`` give one condition, their weighted mean
``c = sum_{s in S} w_s c_s`` with equal weights ``w_s = 1 / |S|`` by default (CoDi
lets users set the weights; :meth:`CoDi.generate` takes ``weights``). Each target is
integrated independently by its own flow from ``x(1) = eps`` to ``t = 0`` (Euler:
``x <- x - dt * v_hat``), where with guidance ``s``

    v_hat = v(x, t | null) + s * (v(x, t | c) - v(x, t | null));

``guidance=None`` or ``s = 1`` is the plain conditional ``v(x, t | c)`` (one pass).

One-to-many tasks use one condition for every target; the targets are conditionally
independent given it (CoDi couples them through cross-attention between the diffusion
models, which has no counterpart over single embedding vectors).
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.core.modalities import Modality
from benchmark.core.tasks import Task
from methods.base import (
    AnyToAnyMethod,
    Batch,
    MethodConfig,
    Objective,
    SamplingCall,
    drift_networks,
    paired_rows,
)
from methods.losses import info_nce
from methods.nets.drift import DriftNetwork, DriftShape
from methods.paths import FROM_DATA
from methods.sampling import time_column

ANCHOR: Modality = "text"


@dataclass(frozen=True, kw_only=True)
class CoDiConfig(MethodConfig, DriftShape):
    """CoDi's settings: the template's and each flow's drift network's, then its own.

    Attributes:
        align_dim: width ``A`` of the aligned conditioning space.
        encoder_hidden: width of each conditioning encoder's hidden layers.
        encoder_layers: hidden layers per conditioning encoder.
        temperature: InfoNCE temperature ``tau``.
        contrastive_weight: weight of the alignment loss.
        cond_dropout: probability of training a row with the null condition.
        guidance: default classifier-free guidance scale (``None``: no guidance).
    """

    align_dim: int
    encoder_hidden: int
    encoder_layers: int = 2
    temperature: float = 0.1
    contrastive_weight: float = 1.0
    cond_dropout: float = 0.1
    guidance: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_fraction("cond_dropout")
        self.check_positive("temperature", "encoder_layers")


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
    sampling_options: ClassVar[tuple[str, ...]] = ("weights",)
    presets: ClassVar[Mapping[str, CoDiConfig]] = {
        # FlowBind's tiny flow shape (128 wide, 3 blocks) per target modality plus three
        # 2-layer 128-wide encoders into a 64-d aligned space (~1.9M parameters); ~34 ms per
        # step at batch 256 on one thread (measured), so the default 1500 steps train in
        # about 50 s. No guidance by default: on the 64-d synthetic problem of
        # tests/methods/test_flowbind.py (400 steps) s = 1.5 / 2 / 3 raised text2image MSE from
        # 0.23 to 0.34 / 0.72 / 2.1 and the covariance error from 12% to 93% / 199% / 452%.
        "tiny": CoDiConfig(
            hidden=128, depth=3, align_dim=64, encoder_hidden=128, time_embed_dim=64, max_steps=1500
        ),
        # Flows at FlowBind's published per-modality size (1152 wide, 12 blocks, ~179M
        # each) so that the two methods compare at equal generator scale; 768-d aligned
        # space (CLIP ViT-L's width); guidance 7.5 and 50 steps as CoDi's samplers use.
        # This is ~548M (548,011,008), not CoDi's 4.3B: most of those are three latent-diffusion
        # U-Nets over pixels / spectrograms / tokens, their VAEs and the frozen CLIP and
        # CLAP towers, none of which exist when the method sees 768-d embeddings.
        "paper": CoDiConfig(
            hidden=1152, depth=12, align_dim=768, encoder_hidden=1152, guidance=7.5,
            lr=1e-4, warmup_steps=1000, batch_size=1024, max_steps=200_000, sampling_steps=50,
        ),
    }

    config: CoDiConfig

    @classmethod
    def check_dims(cls, dims: Mapping[str, int]) -> dict[Modality, int]:
        """Text (the alignment anchor) and at least one more modality."""
        ordered = super().check_dims(dims)
        if ANCHOR not in ordered:
            raise ValueError(
                f"codi aligns every modality to text: it needs text and at least one other "
                f"modality, got dims {dict(dims)}"
            )
        return ordered

    def build(self, tasks: list[Task]) -> None:
        c = self.config
        self.encoders = nn.ModuleDict(
            {
                m: ConditionEncoder(d, c.encoder_hidden, c.align_dim, c.encoder_layers)
                for m, d in self.dims.items()
            }
        )
        self.flows = nn.ModuleDict(
            {m: DriftNetwork(d, c, cond_dim=c.align_dim) for m, d in self.dims.items()}
        )
        self.null = nn.ParameterDict({m: nn.Parameter(torch.zeros(c.align_dim)) for m in self.dims})

    # ------------------------------------------------------------------ training

    def objective(self, batch: Batch) -> Objective:
        """``flow + contrastive_weight * alignment`` on one partially paired batch.

        The terms are logged as ``train/flow_loss`` and ``train/align_loss`` (module
        docstring for the math).
        """
        modalities = [m for m in self.dims if m in batch["present"]]
        present = {m: batch["present"][m].bool() for m in modalities}
        aligned = {m: self.encoders[m](batch[m]) for m in modalities}

        reference = batch[modalities[0]]
        alignment = reference.new_zeros(())
        for m in modalities:
            if m == ANCHOR or ANCHOR not in present:
                continue
            rows = paired_rows(batch, ANCHOR, m)
            if rows.numel() >= 2:
                logits = aligned[ANCHOR][rows] @ aligned[m][rows].T / self.config.temperature
                alignment = alignment + info_nce(logits)

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
            x_t = FROM_DATA.sample(z, eps, t)
            flow = flow + F.mse_loss(self.flows[m](x_t, t, cond), FROM_DATA.velocity(z, eps))
            trained += 1
        if trained == 0:
            raise ValueError("batch has no paired row: codi learns only from pairs")
        total = flow + self.config.contrastive_weight * alignment
        return Objective(total, {"flow_loss": flow, "align_loss": alignment})

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

    def sample(self, call: SamplingCall) -> dict[Modality, Tensor]:
        """Each target from its own flow given the combined condition (module docstring).

        The option ``weights`` weighs the sources in the condition (:meth:`condition`).
        The starting noise of every target is drawn from the call's generator; with
        guidance the conditional and null branches run as one batched pass per evaluation.
        """
        cond = self.condition(call.sources, call.options.get("weights"))
        n, guidance = cond.shape[0], call.guidance
        out = {}
        for m in call.targets:
            flow = self.flows[m]
            if guidance is None:

                def velocity(x: Tensor, t: float, flow: nn.Module = flow) -> Tensor:
                    return flow(x, time_column(t, n, x), cond)

            else:
                both = torch.cat([cond, self.null[m].expand_as(cond)])

                def velocity(
                    x: Tensor, t: float, flow: nn.Module = flow, both: Tensor = both
                ) -> Tensor:
                    v = flow(torch.cat([x, x]), time_column(t, 2 * n, x), both)
                    return v[n:] + guidance * (v[:n] - v[n:])

            out[m] = call.integrate(velocity, self.noise(m, cond, call.generator), FROM_DATA)
        return out

    def serving_parts(self, tasks: list[Task]) -> list[nn.Module | Tensor]:
        """Encoders of every source and flows (with null vectors) of every target."""
        sources = {m for task in tasks for m in task.sources}
        targets = {m for task in tasks for m in task.targets}
        parts: list[nn.Module | Tensor] = [self.encoders[m] for m in self.dims if m in sources]
        parts += [self.flows[m] for m in self.dims if m in targets]
        return parts + [self.null[m] for m in self.dims if m in targets]

    def velocity_networks(self) -> list[nn.Module]:
        """The target flows (drift networks); the condition encoders run once per call."""
        return drift_networks(self)

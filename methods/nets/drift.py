"""A time-conditioned MLP drift network ``v(x, t)`` with adaLN-Zero blocks.

This is the DiT block without attention, as FlowBind uses it for each modality's flow
(CFM, CrossFlow and CoDi build their flows from it too):

    e      = MLP(sinusoid(t))                                  time embedding, width H
    h_0    = W_in x                                            D -> H
    (a, b, g)_l = W_l SiLU(e)                                  shift, scale, gate; W_l = 0 at init
    h_l    = h_{l-1} + g_l * MLP_l(LN(h_{l-1}) * (1 + b_l) + a_l)
    v      = W_out h_L                                         H -> D

``LN`` has no affine parameters (eps 1e-6) and ``MLP_l`` is ``H -> r*H -> H`` with GELU.
A conditional flow ``v(x, t | c)`` (``cond_dim > 0``) adds ``W_c c`` to ``e``, so the
condition modulates every block exactly as the time does.
Zero-initialising every ``W_l`` makes each block the identity at initialisation
(adaLN-Zero), so a fresh network is the affine map ``W_out W_in x``.

With ``hidden=1152, depth=12, mlp_ratio=4, time_embed_dim=256`` and ``dim=768`` the
network has exactly 178,684,032 parameters (FlowBind's per-modality flow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10.0) -> Tensor:
    """Sinusoidal embedding of times ``t: Tensor[B]`` -> ``Tensor[B, dim]``.

    With ``half = dim // 2`` and frequencies ``f_k = max_period^(-k / half)``,
    ``k = 0..half-1``, the embedding is ``[cos(t f_k)]_k ++ [sin(t f_k)]_k`` (zero-padded
    by one column when ``dim`` is odd). FlowBind uses ``max_period = 10`` because its
    times live in ``[0, 1]`` rather than in ``[0, 1000]`` as in DDPM-style models.
    """
    half = dim // 2
    exponents = torch.arange(half, dtype=torch.float32, device=t.device) / half
    freqs = torch.exp(-math.log(max_period) * exponents)
    args = t.float()[:, None] * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


class AdaLNZeroBlock(nn.Module):
    """``h + gate * MLP(LN(h) * (1 + scale) + shift)``, ``(shift, scale, gate)`` from the time.

    The modulation layer ``Linear(H, 3H)`` is zero-initialised, so the block starts as the
    identity map.
    """

    def __init__(self, hidden: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, mlp_ratio * hidden),
            nn.GELU(),
            nn.Linear(mlp_ratio * hidden, hidden),
        )
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 3 * hidden))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(self, h: Tensor, time_embedding: Tensor) -> Tensor:
        shift, scale, gate = self.modulation(time_embedding).chunk(3, dim=-1)
        return h + gate * self.mlp(self.norm(h) * (1 + scale) + shift)


@dataclass(frozen=True, kw_only=True)
class DriftShape:
    """The size of a velocity network: a :class:`DriftNetwork`, or the joint model's U-ViT.

    Method configs extend it.

    Attributes:
        hidden: width ``H`` of the residual stream and of the time embedding MLP.
        depth: number of adaLN-Zero blocks.
        mlp_ratio: each block's MLP is ``H -> mlp_ratio*H -> H``.
        time_embed_dim: width of the sinusoidal time features fed to the time MLP.
        time_max_period: ``max_period`` of :func:`timestep_embedding`.
    """

    hidden: int
    depth: int
    mlp_ratio: int = 4
    time_embed_dim: int = 256
    time_max_period: float = 10.0


class DriftNetwork(nn.Module):
    """Velocity field ``v(x, t): (Tensor[B, dim], Tensor[B]) -> Tensor[B, dim]``.

    Args:
        dim: width of the data the flow moves (input and output).
        shape: hidden width, depth and time features.
        cond_dim: width of an optional condition vector ``c`` (0: unconditional).
    """

    def __init__(self, dim: int, shape: DriftShape, cond_dim: int = 0) -> None:
        super().__init__()
        hidden = shape.hidden
        self.time_embed_dim = shape.time_embed_dim
        self.time_max_period = shape.time_max_period
        self.time_mlp = nn.Sequential(
            nn.Linear(shape.time_embed_dim, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
        )
        self.cond_proj = nn.Linear(cond_dim, hidden) if cond_dim else None
        self.input_proj = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(
            AdaLNZeroBlock(hidden, shape.mlp_ratio) for _ in range(shape.depth)
        )
        self.output_proj = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        """Velocity at ``x: Tensor[B, dim]`` and ``t: Tensor[B]``, given ``cond [B, cond_dim]``."""
        features = timestep_embedding(t, self.time_embed_dim, self.time_max_period)
        time_embedding = self.time_mlp(features.to(x.dtype))
        if (cond is None) != (self.cond_proj is None):
            raise ValueError("pass a condition exactly when the network was built with cond_dim")
        if self.cond_proj is not None:
            time_embedding = time_embedding + self.cond_proj(cond)
        h = self.input_proj(x)
        for block in self.blocks:
            h = block(h, time_embedding)
        return self.output_proj(h)

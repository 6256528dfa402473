"""FlowBind: one shared anchor and one flow per modality (arXiv 2512.15420).

Every modality ``m`` has a drift network ``v_m(x, t)`` that moves a shared anchor ``z*``
(at ``t = 0``) to its embedding ``z_m`` (at ``t = 1``) along the straight path

    z_m(t) = t * z_m + (1 - t) * z*,        d/dt z_m(t) = z_m - z*.

**Anchor.** During training each modality's head gives a mean ``mu_m = H_m(z_m)`` with a
fixed variance ``s2 = anchor_variance``. The product of the kept modalities' Gaussians
``N(mu_m, s2)`` is ``N(mean_k mu_m, s2 / k)``, so with ``k`` kept modalities

    z* = (1/k) * sum_{m kept} mu_m + sqrt(s2 / k) * eps,     eps ~ N(0, I).

Modality dropout: within each group every present modality is dropped from the
fusion with probability ``modality_dropout`` (one coin per modality per group per step);
if all are dropped, all are kept. Dropped modalities still get a flow loss.

**Groups.** Rows are grouped by which modalities are present: text+image (``ti``),
text+audio (``ta``) and image+audio (``ia``). Each group gets its own fusion coins, and
each row of a group its own anchor, fused over the group's modalities only. Rows with
fewer than two modalities carry no pairing and are ignored; a batch without a paired row
is skipped in training (the template's ``has_signal``). A training item holding all
three modalities (a triplet) is used as ``triplets`` says:

- ``"pairs"`` (default, the official code): a triplet is a member of each pair group,

      G_ti = {pairs holding text+image} + {triplets},  likewise G_ta and G_ia,

  so it counts once in the mean of each of the three groups, with three independent
  anchors ``z*_ti = mean_{kept of text, image} mu_m + sqrt(s2 / k) eps`` and so on, and
  each of its modalities gets two flow terms (text in ``ti`` and in ``ta``). This is
  exactly the loss of the batch in which every triplet row is replaced, in place, by
  its pair rows in the order ti, ta, ia: that is how it is computed, so under one RNG
  state the two agree bit for bit. Batches without triplets are unchanged. What we
  found in ``yeonwoo378/flowbind`` (commit b4ee332): ``cache_mixed_collate_fn``
  (``data/mixed_dataloader.py``, lines 23-37) puts item ``k`` in the ``ti`` group
  whenever its text and image are both present, likewise ``ia`` and ``ta``, so a
  triplet lands in all three; its ``'tia'`` key (line 27) is never filled, and
  ``train_one_epoch`` (``train.py``, lines 62-136) fuses and scores each non-empty
  group on its own and sums the group losses (a batch with no group is skipped there
  too, lines 129-133). The official datasets themselves hold pairs only (VGGSound
  image+audio, AudioCaps text+audio, LAION text+image).
- ``"fused"``: triplets form a fourth group, ``G_tia``, fused three ways
  (``z* = mean_{kept of three} mu_m + sqrt(s2 / k) eps``, ``k <= 3``); each triplet
  counts once, with one anchor shared by its three flow terms.

**Loss ("code", the official implementation, default).** For each group ``g`` and each
modality ``m`` of it, averaged over the group's rows and summed over ``m`` and ``g``:

    t ~ U(0, 1), then t := 1 with probability t_one_fraction
    x_t = t * z_m + (1 - t) * sg(z*)
    L1  = || v_m(x_t, t) - (z_m - sg(z*)) ||^2
    L0  = || v_m(z*, 0) - (z_m - z*) ||^2           gradient flows into z*, hence into H
    L   = sum_g sum_m mean_{rows of g} (L1 + L0)

(``||.||^2`` is the mean over dimensions, as ``F.mse_loss``; ``sg`` is stop-gradient.)

**Loss ("paper").** ``t ~ (1 - alpha) U(0, 1) + alpha * delta(0)`` with ``alpha =
paper_alpha``; the anchor is stop-gradiented on rows with ``t > 0`` and not on rows
with ``t = 0``; ``L = sum_g sum_m mean_rows || v_m(x_t, t) - (z_m - z*) ||^2``.
``paper_alpha = 0.3`` is our choice (our reference notes give no value); it puts as
much probability mass on the anchor end as the code puts on the data end.
No KL term is used in either variant (the code computes one and discards it).

**Inference.** A source is encoded by integrating its flow backward from ``t = 1`` to
``t = 0`` (Euler: ``z <- z - dt * v_src(z, t)``); several sources are fused by
averaging their anchors; each target is decoded by integrating forward from ``t = 0``
to ``t = 1`` (Euler: ``x <- x + dt * v_tgt(x, t)``). Sampling is deterministic and has
no guidance. The heads are not needed for serving.
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
    count_parameters,
    drift_networks,
    present_matrix,
)
from methods.nets.drift import DriftNetwork, DriftShape
from methods.nets.gaussian_mlp import GaussianMLP
from methods.paths import TO_DATA
from methods.sampling import Velocity, time_column

LOSS_VARIANTS = ("code", "paper")
#: How a training item with all three modalities is used (module docstring, "Groups").
TRIPLET_USES = ("pairs", "fused")


@dataclass(frozen=True, kw_only=True)
class FlowBindConfig(MethodConfig, DriftShape):
    """FlowBind's settings: the template's and the drift networks', then its own.

    Attributes:
        head_hidden: width of each anchor head.
        head_blocks: residual blocks per anchor head.
        head_dropout: dropout inside the anchor heads.
        anchor_variance: the fixed per-modality anchor variance ``s2``.
        modality_dropout: probability of dropping a modality from one group's fusion.
        t_one_fraction: fraction of flow-matching times set to 1 ("code" loss).
        loss_variant: ``"code"`` (official implementation) or ``"paper"``.
        paper_alpha: probability mass at ``t = 0`` ("paper" loss).
        triplets: ``"pairs"`` (official implementation: a row with all three modalities
            is a row of each pair group) or ``"fused"`` (such rows form their own group,
            fused three ways).
        sampling_steps: default Euler steps for encoding and for decoding.
    """

    head_hidden: int
    head_blocks: int = 3
    head_dropout: float = 0.1
    anchor_variance: float = 10.0
    modality_dropout: float = 0.5
    t_one_fraction: float = 0.3
    loss_variant: str = "code"
    paper_alpha: float = 0.3
    triplets: str = "pairs"
    sampling_steps: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_choice("loss_variant", LOSS_VARIANTS)
        self.check_choice("triplets", TRIPLET_USES)
        self.check_fraction("modality_dropout", "t_one_fraction", "paper_alpha")
        self.check_positive("anchor_variance")


class FlowBind(AnyToAnyMethod):
    """FlowBind over per-modality embeddings that all share one width ``D``.

    ``drifts[m]`` is the velocity field of modality ``m``; ``heads[m]`` is its anchor head,
    used only in training. :meth:`parameter_count` counts only the drift networks a set
    of tasks needs (what serving costs); :meth:`trainable_parameter_count` counts
    everything that is trained, heads included (the paper's 568M for three modalities).
    ``tasks`` does not change what is built: any subset of the flows serves any task.
    """

    name: ClassVar[str] = "flowbind"
    presets: ClassVar[Mapping[str, FlowBindConfig]] = {
        # Sized for a 2-core CPU on 64-d embeddings: one optimiser step at batch 256 over
        # three modalities in pair groups takes ~40 ms on 2 threads, ~60 ms on 1 (forward
        # and backward of three drift networks and three heads, fused Adam), so the default
        # 1000 steps (~12 epochs of 21k items) train in about a minute. At equal wall-clock
        # on a synthetic 64-d problem, this beat 128x2 (1500 steps) and 64x2 (3000 steps).
        "tiny": FlowBindConfig(hidden=128, depth=3, head_hidden=128, max_steps=1000),
        # The published architecture and recipe (768-d features, global batch 1024).
        "paper": FlowBindConfig(
            hidden=1152, depth=12, head_hidden=1152,
            lr=1e-4, warmup_steps=1000, batch_size=1024, max_steps=200_000,
        ),
    }

    config: FlowBindConfig

    @classmethod
    def check_dims(cls, dims: Mapping[str, int]) -> dict[Modality, int]:
        """At least two modalities, of one width.

        All flows start from one anchor ``z*`` and the path ``t z_m + (1 - t) z*`` mixes
        it with each ``z_m``, so every embedding must have the anchor's width.
        """
        ordered = super().check_dims(dims)
        if len(set(ordered.values())) != 1:
            raise ValueError(
                f"FlowBind needs one embedding width for all modalities (the shared anchor's), "
                f"got {ordered}"
            )
        return ordered

    def build(self, tasks: list[Task]) -> None:
        dim = next(iter(self.dims.values()))
        c = self.config
        self.drifts = nn.ModuleDict({m: DriftNetwork(dim, c) for m in self.dims})
        self.heads = nn.ModuleDict(
            {
                m: GaussianMLP(dim, dim, c.head_hidden, c.head_blocks, c.head_dropout)
                for m in self.dims
            }
        )

    # ------------------------------------------------------------------ training

    def objective(self, batch: Batch) -> Objective:
        """The FlowBind loss of ``config.loss_variant`` on one partially paired batch.

        See the module docstring for the math. Under ``triplets="pairs"`` the paired rows
        are first split into pair rows (:meth:`_pair_rows`). Each modality's drift network
        runs once per step on all of its rows (both loss terms and all groups
        concatenated); rows are weighted by ``1 / |group|`` so the sum equals the
        per-group averages summed.
        """
        modalities = [m for m in self.dims if m in batch["present"]]
        present = present_matrix(batch, modalities)
        rows = (present.sum(dim=1) >= 2).nonzero().squeeze(1)
        if rows.numel() == 0:
            raise ValueError(
                "batch has no row with two or more modalities present: FlowBind learns only "
                "from paired rows"
            )
        present = present[rows]
        if self.config.triplets == "pairs":
            source, present = self._pair_rows(present)
            rows = rows[source]
        data = {m: batch[m][rows] for m in modalities}

        bits = 2 ** torch.arange(len(modalities), device=present.device)
        patterns, group = torch.unique((present.long() * bits).sum(dim=1), return_inverse=True)
        group_present = (patterns[:, None] & bits).bool()
        group_weight = 1.0 / torch.bincount(group).to(data[modalities[0]].dtype)
        row_weight = group_weight[group]

        anchor = self._fused_anchor(data, modalities, self._keep(group_present)[group])

        total = anchor.new_zeros(())
        for i, m in enumerate(modalities):
            idx = present[:, i].nonzero().squeeze(1)
            inputs, times, targets, weights = self._flow_terms(
                data[m][idx], anchor[idx], row_weight[idx]
            )
            error = F.mse_loss(self.drifts[m](inputs, times), targets, reduction="none")
            total = total + (weights * error.mean(dim=1)).sum()
        return Objective(total)

    @staticmethod
    def _pair_rows(present: Tensor) -> tuple[Tensor, Tensor]:
        """Split every row holding more than two modalities into one row per pair of them.

        ``present: BoolTensor[N, M]`` of rows holding two or more modalities. A row holding
        two is kept as it is; a row holding ``k > 2`` is replaced, in place, by its
        ``k (k - 1) / 2`` pairs in :func:`itertools.combinations` order of the columns
        (for text, image, audio: ti, ta, ia). Returns the row each new row comes from,
        ``LongTensor[N']``, and the new rows' presence, ``BoolTensor[N', M]``; without
        such rows these are ``arange(N)`` and ``present``.
        """
        n, width = present.shape
        columns = torch.tensor(list(itertools.combinations(range(width), 2)), device=present.device)
        pair_present = F.one_hot(columns, width).sum(dim=1).bool()
        holds_pair = (present[:, None, :] | ~pair_present).all(dim=2)
        split = present.sum(dim=1) > 2
        chosen = torch.cat([~split[:, None], split[:, None] & holds_pair], dim=1)
        options = torch.cat([present[:, None, :], pair_present.expand(n, -1, -1)], dim=1)
        source, option = chosen.nonzero(as_tuple=True)
        return source, options[source, option]

    def _keep(self, group_present: Tensor) -> Tensor:
        """Modality dropout: ``BoolTensor[G, M]`` of the modalities kept in each group's fusion.

        Each present modality is dropped with probability ``modality_dropout``, one coin
        per modality per group; a group whose every modality was dropped keeps them all.
        """
        coins = torch.rand(group_present.shape, device=group_present.device)
        keep = group_present & (coins >= self.config.modality_dropout)
        none_kept = ~keep.any(dim=1, keepdim=True)
        return torch.where(none_kept, group_present, keep)

    def _fused_anchor(
        self, data: Mapping[Modality, Tensor], modalities: list[Modality], keep: Tensor
    ) -> Tensor:
        """Sample ``z* = mean_{m kept} H_m(z_m) + sqrt(s2 / k) * eps`` row by row.

        ``keep: BoolTensor[N, M]`` marks the modalities fused for each row; a head runs
        only on the rows where its modality is kept, and only its mean is read.
        """
        reference = data[modalities[0]]
        mean_sum = torch.zeros_like(reference)
        for i, m in enumerate(modalities):
            idx = keep[:, i].nonzero().squeeze(1)
            mean, _log_variance = self.heads[m](data[m][idx])
            # heads under bf16 autocast give bf16 means: the sum stays in the data's dtype
            mean_sum = mean_sum.index_add(0, idx, mean.to(mean_sum.dtype))
        k = keep.sum(dim=1, keepdim=True).to(reference.dtype)
        noise = torch.randn_like(reference)
        return mean_sum / k + torch.sqrt(self.config.anchor_variance / k) * noise

    def _flow_terms(
        self, z: Tensor, anchor: Tensor, weight: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Drift inputs, times, target velocities and row weights for one modality's rows.

        The path runs from the anchor (``t = 0``) to the data (``t = 1``): :data:`TO_DATA`.
        """
        n = z.shape[0]
        detached = anchor.detach()
        uniform = torch.rand(n, device=z.device, dtype=z.dtype)
        if self.config.loss_variant == "code":
            at_data = torch.rand(n, device=z.device) < self.config.t_one_fraction
            t = torch.where(at_data, torch.ones_like(uniform), uniform)
            inputs = torch.cat([TO_DATA.sample(detached, z, t), anchor])
            times = torch.cat([t, torch.zeros_like(t)])
            targets = torch.cat([TO_DATA.velocity(detached, z), TO_DATA.velocity(anchor, z)])
            return inputs, times, targets, torch.cat([weight, weight])
        at_anchor = torch.rand(n, device=z.device) < self.config.paper_alpha
        t = torch.where(at_anchor, torch.zeros_like(uniform), uniform)
        start = torch.where(at_anchor[:, None], anchor, detached)
        return TO_DATA.sample(start, z, t), t, TO_DATA.velocity(start, z), weight

    # ----------------------------------------------------------------- inference

    def _flow(self, modality: Modality) -> Velocity:
        """``v_m(x, t)`` as the solvers call it: a state and a float time."""
        drift = self.drifts[modality]
        return lambda x, t: drift(x, time_column(t, x.shape[0], x))

    def encode(self, modality: Modality, z: Tensor, call: SamplingCall) -> Tensor:
        """The anchor of ``z``: integrate ``v_m`` backward from the data (``t = 1``) to 0."""
        return call.integrate(self._flow(modality), z, TO_DATA, to_data=False)

    def decode(self, modality: Modality, anchor: Tensor, call: SamplingCall) -> Tensor:
        """The embedding of ``anchor``: integrate ``v_m`` forward from ``t = 0`` to 1."""
        return call.integrate(self._flow(modality), anchor, TO_DATA)

    def sample(self, call: SamplingCall) -> dict[Modality, Tensor]:
        """Translate sources to targets through the shared anchor (deterministic).

        Each source is encoded with :meth:`encode`, the anchors are averaged
        (many-to-one), and the mean anchor is decoded by every target's flow
        (one-to-many). There is no guidance and no noise to draw.
        """
        anchors = [self.encode(m, x, call) for m, x in call.sources.items()]
        anchor = torch.stack(anchors).mean(dim=0)
        return {m: self.decode(m, anchor, call) for m in call.targets}

    def serving_parts(self, tasks: list[Task]) -> list[nn.Module | Tensor]:
        """The drift networks of every modality in ``tasks``; the heads serve no task."""
        needed = {m for task in tasks for m in (*task.sources, *task.targets)}
        return [self.drifts[m] for m in self.dims if m in needed]

    def velocity_networks(self) -> list[nn.Module]:
        """The drift networks (one evaluation each per encoding or decoding step)."""
        return drift_networks(self)

    def trainable_parameter_count(self) -> int:
        """All trained parameters: every drift network and every anchor head."""
        return count_parameters([self])

"""The interface every any-to-any method implements.

A method never sees media, only per-modality embeddings ``Tensor[B, D_m]`` standardized
per dimension by the backbones. Training batches are partially paired:

    batch = {"text": Tensor[B, D_text], "image": ..., "audio": ...,
             "present": {"text": BoolTensor[B], "image": ..., "audio": ...}}

Rows where a modality is absent hold zeros in its tensor and ``False`` in ``present``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import pytorch_lightning as pl
import torch
from torch import Tensor

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.registry import did_you_mean
from benchmark.core.tasks import Task

Batch = dict[str, Any]


class AnyToAnyMethod(pl.LightningModule):
    """A registered, trainable any-to-any generator over embeddings.

    Subclasses set ``name`` and ``presets`` (preset name -> config), build their networks
    in ``__init__(dims, preset, tasks=None, **overrides)`` — ``tasks`` being the tasks the
    instance must serve (None: all it supports), so that a pairwise method builds only the
    pair models they need — and implement the abstract methods below. ``self.config``
    holds the resolved settings, at least ``batch_size``, ``max_steps`` and
    ``sampling_steps``.
    """

    name: ClassVar[str]
    presets: ClassVar[Mapping[str, Any]]
    #: Embedding widths the ``paper`` preset is built for (FlowBind's frozen 768-d features).
    paper_embedding_dims: ClassVar[Mapping[str, int]] = {"text": 768, "image": 768, "audio": 768}
    #: Whether one optimisation trains every part the method needs (the efficiency table's
    #: "single-stage"). Every method here trains its parts jointly in one ``fit``; a method
    #: that pre-trains a part in a separate stage sets this False.
    single_stage: ClassVar[bool] = True

    @classmethod
    def resolve_config(cls, preset: str, overrides: Mapping[str, object]) -> Any:
        """The ``preset``'s config (a frozen dataclass) with ``overrides`` replacing fields.

        An unknown preset or setting is a :class:`UserError` with a did-you-mean hint.
        """
        if preset not in cls.presets:
            raise UserError(
                f"unknown {cls.name} preset '{preset}': {did_you_mean(preset, list(cls.presets))}"
            )
        base = cls.presets[preset]
        fields = [f.name for f in dataclasses.fields(base)]
        for key in overrides:
            if key not in fields:
                raise UserError(f"unknown {cls.name} setting '{key}': {did_you_mean(key, fields)}")
        return dataclasses.replace(base, **overrides)

    @classmethod
    def canonical_dims(cls, dims: Mapping[str, int]) -> dict[Modality, int]:
        """``dims`` in canonical modality order; unknown modalities or fewer than two raise."""
        unknown = sorted(set(dims) - set(MODALITIES))
        if unknown:
            raise ValueError(f"unknown modality '{unknown[0]}' in dims {dict(dims)}")
        ordered = {m: int(dims[m]) for m in MODALITIES if m in dims}
        if len(ordered) < 2:
            raise ValueError(f"{cls.name} needs at least two modalities, got dims {dict(dims)}")
        return ordered

    def configure_optimizers(self) -> dict[str, object]:
        """Adam at ``config.lr`` with a linear warm-up, then a constant rate.

        The multiplier is ``min(1, (step + 1) / warmup_steps)``, stepped every batch (the
        first step is not taken at rate 0). ``fused``: one kernel for all parameters; on
        this CPU the per-tensor loop cost about 4x more.
        """
        optimizer = torch.optim.Adam(self.parameters(), lr=self.config.lr, fused=True)
        warmup = max(self.config.warmup_steps, 1)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min(1.0, (step + 1) / warmup)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def generate(
        self,
        sources: Mapping[Modality, Tensor],
        targets: Sequence[Modality],
        *,
        steps: int,
        guidance: float | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[Modality, Tensor]:
        """Sample target embeddings ``{target: Tensor[B, D_target]}`` given source embeddings."""
        raise NotImplementedError

    def refusal(self, task: Task) -> str | None:
        """``None`` if the method can serve ``task``, else the reason it cannot (by design)."""
        raise NotImplementedError

    def supports(self, task: Task) -> bool:
        return self.refusal(task) is None

    def parameter_count(self, tasks: Iterable[Task]) -> int:
        """Parameters needed to serve all of ``tasks`` (shared networks counted once)."""
        raise NotImplementedError

    @property
    def default_sampling_steps(self) -> int:
        raise NotImplementedError

    @property
    def default_guidance(self) -> float | None:
        """The guidance scale used when the user gives none (None: the method has none)."""
        return None

    def velocity_networks(self) -> list[torch.nn.Module]:
        """The modules whose forward pass is one function evaluation of the sampler: the
        drift networks, unless a method says otherwise. NFE counts the rows they process."""
        from methods.drift_network import DriftNetwork

        return [m for m in self.modules() if isinstance(m, DriftNetwork)]


def count_parameters(modules: Iterable[torch.nn.Module]) -> int:
    """Number of parameters in the given modules, each parameter counted once."""
    seen: dict[int, int] = {}
    for module in modules:
        for p in module.parameters():
            seen[id(p)] = p.numel()
    return sum(seen.values())

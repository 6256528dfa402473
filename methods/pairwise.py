"""What pairwise methods share: one model per ordered ``(source, target)`` pair.

A pairwise method (``cfm``, ``crossflow``) trains an independent generator for every
ordered pair of modalities a set of tasks needs, keyed ``"source->target"`` in one
``nn.ModuleDict``. A task ``S -> T`` needs the pairs ``{(s, t) : s in S, t in T}``, so
serving the six directed tasks takes six models, and ``text+audio2image`` needs
``text->image`` and ``audio->image``.

**Training.** Every pair model learns from the rows of a batch where both its modalities
are present (pair groups; there are no triplets to learn joint conditions from). The
loss is the sum over pairs of each pair's mean loss over its rows; a pair without rows in
a batch contributes nothing.

**Sampling.** Every target is produced by Euler integration of an ODE from ``t = 0`` to
``t = 1``, ``x <- x + dt * v(x, t)`` for ``t = 0, dt, ..., 1 - dt``, ``dt = 1 / steps``.
The start ``x_0`` and the velocity ``v`` come from the subclass (:meth:`_start`,
:meth:`_velocity`), which also defines how several sources are composed (many-to-one).
One-to-many: each target is sampled on its own from its own ``source -> target`` models,
so targets are conditionally independent given the sources; targets draw their noise
from ``generator`` one after another, in the order given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.tasks import Task, all_tasks
from methods.base import AnyToAnyMethod, Batch, count_parameters

Pair = tuple[Modality, Modality]


def pair_key(source: Modality, target: Modality) -> str:
    """The ``ModuleDict`` key of a pair model, e.g. ``"audio->image"``."""
    return f"{source}->{target}"


def task_pairs(task: Task) -> list[Pair]:
    """The ordered ``(source, target)`` pairs a task needs: every source with every target."""
    return [(s, t) for t in task.targets for s in task.sources]


def needed_pairs(tasks: Iterable[Task]) -> list[Pair]:
    """The union of :func:`task_pairs` over ``tasks``, in canonical modality order."""
    needed = {pair for task in tasks for pair in task_pairs(task)}
    return [(s, t) for s in MODALITIES for t in MODALITIES if (s, t) in needed]


def paired_rows(batch: Batch, source: Modality, target: Modality) -> Tensor:
    """Indices ``LongTensor[N]`` of the rows where both ``source`` and ``target`` are present."""
    present = batch["present"]
    if source not in present or target not in present:
        return torch.zeros(0, dtype=torch.long)
    both = present[source].bool() & present[target].bool()
    return both.nonzero().squeeze(1)


class PairwiseMethod(AnyToAnyMethod):
    """Base of the one-model-per-ordered-pair methods.

    Subclasses set ``name``, ``label`` (the name in messages), ``presets`` (frozen
    dataclasses with at least ``batch_size, max_steps, lr, warmup_steps,
    sampling_steps``) and implement :meth:`_build_pair`, :meth:`_pair_loss`,
    :meth:`_start` and :meth:`_velocity`.

    Args:
        dims: embedding width per modality (widths may differ).
        preset: a key of ``presets``.
        tasks: the tasks this instance must serve; ``None`` means every task of
            :func:`~benchmark.core.tasks.all_tasks` over the modalities in ``dims``. Models
            are built only for the pairs these tasks need.
        **overrides: replace fields of the preset's config.
    """

    label: ClassVar[str]

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
        self.dims: dict[Modality, int] = self.canonical_dims(dims)
        if tasks is None:
            tasks = [t for t in all_tasks() if set(t.sources) | set(t.targets) <= set(self.dims)]
        for task in tasks:
            missing = [m for m in (*task.sources, *task.targets) if m not in self.dims]
            if missing:
                raise ValueError(f"task '{task}' needs modality '{missing[0]}', not in dims")
        self.pair_models = nn.ModuleDict(
            {pair_key(s, t): self._build_pair(s, t) for s, t in needed_pairs(tasks)}
        )


    # ------------------------------------------------------------ subclass hooks

    def _build_pair(self, source: Modality, target: Modality) -> nn.Module:
        """The model that generates ``target`` from ``source``."""
        raise NotImplementedError

    def _pair_loss(self, model: nn.Module, source: Tensor, target: Tensor) -> Tensor:
        """Mean loss of one pair model on paired rows ``source [N, D_s]``, ``target [N, D_t]``."""
        raise NotImplementedError

    def _start(
        self,
        target: Modality,
        sources: Mapping[Modality, Tensor],
        generator: torch.Generator | None,
    ) -> Tensor:
        """The ODE's initial state ``x_0: Tensor[B, D_target]``."""
        raise NotImplementedError

    def _velocity(
        self,
        target: Modality,
        sources: Mapping[Modality, Tensor],
        x: Tensor,
        t: Tensor,
        guidance: float | None,
    ) -> Tensor:
        """The (guided, composed) velocity at ``x: Tensor[B, D_target]``, ``t: Tensor[B]``."""
        raise NotImplementedError

    def pair_model(self, source: Modality, target: Modality) -> nn.Module:
        return self.pair_models[pair_key(source, target)]

    # ------------------------------------------------------------------ training

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        loss = self.loss(batch)
        batch_size = next(iter(batch["present"].values())).shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        return loss

    def loss(self, batch: Batch) -> Tensor:
        """Sum over built pairs of :meth:`_pair_loss` on the rows where the pair is present."""
        losses = []
        for key, model in self.pair_models.items():
            source, target = key.split("->")
            rows = paired_rows(batch, source, target)
            if rows.numel() == 0:
                continue
            rows = rows.to(batch[source].device)
            losses.append(self._pair_loss(model, batch[source][rows], batch[target][rows]))
        if not losses:
            raise ValueError(
                f"batch has no row pairing the modalities of any {self.label} model "
                f"({', '.join(self.pair_models)}): pairwise models learn only from paired rows"
            )
        return torch.stack(losses).sum()


    # ----------------------------------------------------------------- inference

    @torch.no_grad()
    def generate(
        self,
        sources: Mapping[Modality, Tensor],
        targets: Sequence[Modality],
        *,
        steps: int,
        guidance: float | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[Modality, Tensor]:
        """Sample every target by Euler integration from :meth:`_start` along :meth:`_velocity`.

        All sampling noise is drawn from ``generator``, so a seeded generator makes the
        output deterministic. ``guidance=None`` means no classifier-free guidance.
        """
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if not sources or not targets:
            raise ValueError("generate needs at least one source and one target")
        reason = self.refusal(Task(tuple(sources), tuple(targets)))
        if reason is not None:
            raise ValueError(reason)
        was_training = self.training
        self.eval()
        try:
            out = {}
            for target in targets:
                x = self._start(target, sources, generator)
                dt = 1.0 / steps
                for i in range(steps):
                    t = torch.full((x.shape[0],), i * dt, device=x.device, dtype=x.dtype)
                    x = x + dt * self._velocity(target, sources, x, t, guidance)
                out[target] = x
            return out
        finally:
            self.train(was_training)

    def refusal(self, task: Task) -> str | None:
        """Serves any task whose ``source -> target`` pair models were all built."""
        missing = [m for m in (*task.sources, *task.targets) if m not in self.dims]
        if missing:
            return f"{self.label} was built without modality '{missing[0]}'"
        absent = [
            pair_key(s, t) for s, t in task_pairs(task) if pair_key(s, t) not in self.pair_models
        ]
        if absent:
            return (
                f"this {self.label} instance was built without the '{absent[0]}' model "
                f"(pass the task in `tasks` when constructing it)"
            )
        return None

    def parameter_count(self, tasks: Iterable[Task]) -> int:
        """Parameters of every pair model that ``tasks`` use (each counted once)."""
        tasks = list(tasks)
        for task in tasks:
            reason = self.refusal(task)
            if reason is not None:
                raise ValueError(f"cannot serve task '{task}': {reason}")
        return count_parameters(self.pair_model(s, t) for s, t in needed_pairs(tasks))

    @property
    def default_sampling_steps(self) -> int:
        return self.config.sampling_steps

    @property
    def default_guidance(self) -> float | None:
        return self.config.guidance

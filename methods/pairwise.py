"""What pairwise methods share: one model per ordered ``(source, target)`` pair.

A pairwise method (``cfm``, ``crossflow``) trains an independent generator for every
ordered pair of modalities a set of tasks needs, keyed ``"source->target"`` in one
``nn.ModuleDict``. A task ``S -> T`` needs the pairs ``{(s, t) : s in S, t in T}``, so
serving the six directed tasks takes six models, and ``text+audio2image`` needs
``text->image`` and ``audio->image``.

**Training.** Every pair model learns from the rows of a batch where both its modalities
are present. The loss is the sum over pairs of each pair's mean loss over its rows; a
pair without rows in a batch contributes nothing. A training item holding all three
modalities is a row of every pair: it trains all six ordered pair models (text->image
and image->text with the audio unused, and so on), each exactly as a pair row would, and
no model ever sees two sources together. A row with a single modality trains nothing;
a batch in which no built pair model has a row is skipped (:meth:`PairwiseMethod.has_signal`).

**Sampling.** Every target is produced by integrating an ODE from ``t = 0`` to the data
at ``t = 1`` (:data:`~methods.paths.TO_DATA`; Euler: ``x <- x + dt * v(x, t)`` for
``t = 0, dt, ..., 1 - dt``, ``dt = 1 / steps``). The start ``x_0`` and the velocity ``v``
come from the subclass (:meth:`PairwiseMethod.initial_state`,
:meth:`PairwiseMethod.velocity`), which also defines how several sources are composed
(many-to-one).
One-to-many: each target is sampled on its own from its own ``source -> target`` models,
so targets are conditionally independent given the sources; targets draw their noise
from ``generator`` one after another, in the order given.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from benchmark.core.hooks import abstractmethod
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.tasks import Task
from methods.base import (
    AnyToAnyMethod,
    Batch,
    Objective,
    SamplingCall,
    drift_networks,
    paired_rows,
)
from methods.paths import TO_DATA
from methods.sampling import time_column

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


class PairwiseMethod(AnyToAnyMethod):
    """Base of the one-model-per-ordered-pair methods.

    Subclasses set ``name`` and ``presets`` and define the hooks :meth:`build_pair`,
    :meth:`pair_loss`, :meth:`initial_state` and :meth:`velocity`. Models are built only
    for the pairs the constructor's ``tasks`` need; embedding widths may differ.
    """

    hooks_doc = "methods/pairwise.py"

    def build(self, tasks: list[Task]) -> None:
        self.pair_models = nn.ModuleDict(
            {pair_key(s, t): self.build_pair(s, t) for s, t in needed_pairs(tasks)}
        )

    # ------------------------------------------------------------ subclass hooks

    @abstractmethod
    def build_pair(self, source: Modality, target: Modality) -> nn.Module:
        """The model that generates ``target`` from ``source``."""

    @abstractmethod
    def pair_loss(self, model: nn.Module, source: Tensor, target: Tensor) -> Tensor:
        """Mean loss of one pair model on paired rows ``source [N, D_s]``, ``target [N, D_t]``."""

    @abstractmethod
    def initial_state(self, target: Modality, call: SamplingCall) -> Tensor:
        """The ODE's initial state ``x_0: Tensor[B, D_target]`` (noise from ``call.generator``)."""

    @abstractmethod
    def velocity(self, target: Modality, call: SamplingCall, x: Tensor, t: Tensor) -> Tensor:
        """The (guided, composed) velocity at ``x: Tensor[B, D_target]``, ``t: Tensor[B]``."""

    def pair_model(self, source: Modality, target: Modality) -> nn.Module:
        return self.pair_models[pair_key(source, target)]

    # ------------------------------------------------------------------ training

    def has_signal(self, batch: Batch) -> bool:
        """Whether some row holds both modalities of some built pair model."""
        pairs = [key.split("->") for key in self.pair_models]
        return any(paired_rows(batch, source, target).numel() > 0 for source, target in pairs)

    def objective(self, batch: Batch) -> Objective:
        """Sum over built pairs of :meth:`pair_loss` on the rows where the pair is present."""
        losses = []
        for key, model in self.pair_models.items():
            source, target = key.split("->")
            rows = paired_rows(batch, source, target)
            if rows.numel() == 0:
                continue
            losses.append(self.pair_loss(model, batch[source][rows], batch[target][rows]))
        if not losses:
            raise ValueError(
                f"batch has no row pairing the modalities of any {self.name} model "
                f"({', '.join(self.pair_models)}): pairwise models learn only from paired rows"
            )
        return Objective(torch.stack(losses).sum())

    # ----------------------------------------------------------------- inference

    def sample(self, call: SamplingCall) -> dict[Modality, Tensor]:
        """Every target in turn, integrated from :meth:`initial_state` along :meth:`velocity`."""
        out = {}
        for target in call.targets:

            def flow(x: Tensor, t: float, target: Modality = target) -> Tensor:
                return self.velocity(target, call, x, time_column(t, x.shape[0], x))

            out[target] = call.integrate(flow, self.initial_state(target, call), TO_DATA)
        return out

    def velocity_networks(self) -> list[nn.Module]:
        """The drift networks of the pair models."""
        return drift_networks(self)

    def own_refusal(self, task: Task) -> str | None:
        """Serves any task whose ``source -> target`` pair models were all built."""
        absent = [
            pair_key(s, t) for s, t in task_pairs(task) if pair_key(s, t) not in self.pair_models
        ]
        if absent:
            return (
                f"this {self.name} instance was built without the '{absent[0]}' model "
                f"(pass the task in `tasks` when constructing it)"
            )
        return None

    def serving_parts(self, tasks: list[Task]) -> list[nn.Module | Tensor]:
        """Every pair model that ``tasks`` use."""
        return [self.pair_model(s, t) for s, t in needed_pairs(tasks)]

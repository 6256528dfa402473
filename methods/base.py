"""The template every any-to-any method fills in: what all of them do, written once.

A method never sees media, only per-modality embeddings ``Tensor[B, D_m]`` standardized
per dimension by the backbones. Training batches are partially paired:

    batch = {"text": Tensor[B, D_text], "image": ..., "audio": ...,
             "present": {"text": BoolTensor[B], "image": ..., "audio": ...}}

Rows where a modality is absent hold zeros in its tensor and ``False`` in ``present``; a
modality missing from ``present`` is absent from every row.

:class:`AnyToAnyMethod` does what every method repeats: it resolves the preset and the
overrides into ``self.config``, orders and checks the embedding widths, trains with one
logged loss, checks every ``generate`` call and runs it in eval mode without gradients,
refuses tasks over modalities it was not built with, and counts parameters. A training
batch without a row the method can learn from (``has_signal`` is False: say, every row
holds one modality) is skipped, not an error: ``training_step`` returns ``None`` and
counts it in ``skipped_batches``. A method writes only its own parts, in these hooks
(``@abstractmethod``s: a class missing one fails when built, naming every one missing,
benchmark/core/hooks.py; docs/methods.md lists the same):

    build(tasks)            create the networks (in a fixed order: it sets the init)
    objective(batch)        the training loss, and optionally its named terms
    sample(call)            the target embeddings for a checked :class:`SamplingCall`
    serving_parts(tasks)    the modules and parameters serving ``tasks`` needs
    velocity_networks()     the modules whose forward pass is one function evaluation
                            of the sampler (NFE counts the rows they process)

and, where the default does not fit, these:

    has_signal(batch)       whether the batch holds a row ``objective`` learns from
                            (default: a row with two or more of the method's modalities)
    own_refusal(task)       why it cannot serve a task over its modalities (default: never)
    check_dims(dims)        extra conditions on the embedding widths (default: none)
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torch.optim.lr_scheduler import LRScheduler

from benchmark.core.errors import NonFiniteOutput, UserError
from benchmark.core.hooks import Hooked, abstractmethod
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.registry import did_you_mean
from benchmark.core.tasks import Task, all_tasks
from methods.nets.drift import DriftNetwork
from methods.paths import StraightPath
from methods.sampling import Solver, State, Velocity, solver_named

Batch = dict[str, Any]

log = logging.getLogger(__name__)


def batch_rows(batch: Batch) -> int:
    """Number of rows ``B`` of a batch."""
    return next(iter(batch["present"].values())).shape[0]


def present_matrix(batch: Batch, modalities: Sequence[Modality]) -> Tensor:
    """``BoolTensor[B, M]``: whether each row has each of ``modalities`` (column order)."""
    reference = next(iter(batch["present"].values()))
    missing = torch.zeros_like(reference, dtype=torch.bool)
    return torch.stack(
        [batch["present"][m].bool() if m in batch["present"] else missing for m in modalities],
        dim=1,
    )


def paired_rows(batch: Batch, a: Modality, b: Modality) -> Tensor:
    """Indices ``LongTensor[N]`` of the rows where both ``a`` and ``b`` are present."""
    both = present_matrix(batch, [a, b]).all(dim=1)
    return both.nonzero().squeeze(1)


def drift_networks(module: nn.Module) -> list[nn.Module]:
    """The :class:`DriftNetwork` modules inside ``module``, in registration order."""
    return [m for m in module.modules() if isinstance(m, DriftNetwork)]


def count_parameters(parts: Iterable[nn.Module | Tensor]) -> int:
    """Number of parameters in ``parts`` (modules or parameters), each counted once."""
    seen: dict[int, int] = {}
    for part in parts:
        for p in [part] if isinstance(part, Tensor) else part.parameters():
            seen[id(p)] = p.numel()
    return sum(seen.values())


@dataclasses.dataclass(frozen=True, kw_only=True)
class MethodConfig:
    """The settings the template reads; a method's config extends it with its own.

    The defaults of ``lr``, ``warmup_steps`` and ``batch_size`` are the recipe every
    ``tiny`` preset trains with on a 2-core CPU; ``paper`` presets give the published
    ones. A method offers classifier-free guidance exactly when its config has a
    ``guidance`` field (its default scale; ``None``: unguided unless asked).

    Attributes:
        max_steps: default number of optimiser steps for this preset.
        lr: Adam learning rate.
        warmup_steps: linear learning-rate warm-up, then constant.
        batch_size: rows per training batch.
        sampling_steps: default solver steps.
    """

    max_steps: int
    lr: float = 1e-3
    warmup_steps: int = 100
    batch_size: int = 256
    sampling_steps: int = 20

    def __post_init__(self) -> None:
        self.check_positive("sampling_steps")

    def check_choice(self, field: str, choices: Sequence[str]) -> None:
        """A :class:`UserError` with a did-you-mean hint unless ``field`` is one of ``choices``."""
        value = getattr(self, field)
        if value not in choices:
            raise UserError(f"unknown {field} '{value}': {did_you_mean(value, list(choices))}")

    def check_fraction(self, *fields: str) -> None:
        """A :class:`UserError` unless every one of ``fields`` lies in ``[0, 1]``."""
        for field in fields:
            if not 0.0 <= getattr(self, field) <= 1.0:
                raise UserError(f"{field} must lie in [0, 1], got {getattr(self, field)}")

    def check_positive(self, *fields: str) -> None:
        """A :class:`UserError` unless every one of ``fields`` is ``> 0``."""
        for field in fields:
            if not getattr(self, field) > 0:
                raise UserError(f"{field} must be > 0, got {getattr(self, field)}")


class Objective(NamedTuple):
    """A training loss: the ``total`` that is minimised and named ``terms`` to log."""

    total: Tensor
    terms: Mapping[str, Tensor] = MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class SamplingCall:
    """A call of :meth:`AnyToAnyMethod.generate` once checked: what :meth:`sample` gets.

    Attributes:
        sources: ``{modality: Tensor[B, D_m]}``, at least one.
        targets: the modalities to generate, none of them a source.
        steps: solver steps (``>= 1``).
        guidance: the guidance scale ``s``; ``None`` when there is none or ``s = 1``
            (the plain conditional velocity).
        generator: the source of all sampling noise.
        solver: the ODE solver.
        options: the method's own sampling options (those in ``sampling_options``).
    """

    sources: Mapping[Modality, Tensor]
    targets: list[Modality]
    steps: int
    guidance: float | None
    generator: torch.Generator | None
    solver: Solver
    options: Mapping[str, Any]

    @property
    def reference(self) -> Tensor:
        """The first source: its rows, device and dtype are the samples'."""
        return next(iter(self.sources.values()))

    def integrate(
        self, velocity: Velocity, x: State, path: StraightPath, *, to_data: bool = True
    ) -> State:
        """Integrate ``dx/dt = velocity(x, t)`` with the call's solver and steps along
        ``path``'s time: from its start to its data end (generation), or back
        (``to_data=False``, FlowBind's encoding)."""
        start, end = path.start_time, path.data_time
        if not to_data:
            start, end = end, start
        return self.solver.integrate(velocity, x, start=start, end=end, steps=self.steps)


def _generation_tasks(tasks: Iterable[Task]) -> list[Task]:
    """``tasks`` with each round trip replaced by its two legs, each task once: what a
    method builds and serves (its hooks never see a round trip)."""
    return list(dict.fromkeys(leg for task in tasks for leg in task.legs))


class AnyToAnyMethod(pl.LightningModule, Hooked):
    """A registered, trainable any-to-any generator over embeddings.

    Subclasses set ``name`` and ``presets`` (preset name -> frozen dataclass config, with
    at least the fields of :class:`MethodConfig`) and define the hooks of the module
    docstring; they do not define ``__init__``.

    Args:
        dims: embedding width per modality (at least two modalities).
        preset: a key of ``presets``.
        tasks: the tasks the instance must serve; ``None``: every task of
            :func:`~benchmark.core.tasks.all_tasks` over the modalities in ``dims``. A
            method that builds per task (one model per ordered pair) builds only these.
        **overrides: replace fields of the preset's config.
    """

    hooks_doc = "docs/methods.md#add-your-own-method"
    name: ClassVar[str]
    presets: ClassVar[Mapping[str, Any]]
    #: Embedding widths the ``paper`` preset is built for (FlowBind's frozen 768-d features).
    paper_embedding_dims: ClassVar[Mapping[str, int]] = {"text": 768, "image": 768, "audio": 768}
    #: Whether one optimisation trains every part the method needs (the efficiency table's
    #: "single-stage"). Every method here trains its parts jointly in one ``fit``; a method
    #: that pre-trains a part in a separate stage sets this False.
    single_stage: ClassVar[bool] = True
    #: Names of the method's own keyword options to :meth:`generate` (CoDi: ``weights``).
    sampling_options: ClassVar[tuple[str, ...]] = ()

    config: Any
    dims: dict[Modality, int]

    def __init__(
        self,
        dims: Mapping[str, int],
        preset: str = "tiny",
        tasks: Sequence[Task] | None = None,
        **overrides: object,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        #: Training batches skipped because ``has_signal`` was False (for the run record).
        self.skipped_batches = 0
        #: Whether the last training batch was skipped (the schedule then does not step).
        self._skipped_last_batch = False
        self.config = self.resolve_config(preset, overrides)
        self.dims = self.check_dims(dims)
        if tasks is None:
            tasks = [t for t in all_tasks() if set(t.sources) | set(t.targets) <= set(self.dims)]
        for task in tasks:
            missing = [m for m in task.modalities if m not in self.dims]
            if missing:
                raise ValueError(f"task '{task}' needs modality '{missing[0]}', not in dims")
        self.build(_generation_tasks(tasks))

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
    def check_dims(cls, dims: Mapping[str, int]) -> dict[Modality, int]:
        """``dims`` in canonical modality order; unknown modalities or fewer than two raise.

        A method with more conditions on the widths extends this.
        """
        unknown = sorted(set(dims) - set(MODALITIES))
        if unknown:
            raise ValueError(f"unknown modality '{unknown[0]}' in dims {dict(dims)}")
        ordered = {m: int(dims[m]) for m in MODALITIES if m in dims}
        if len(ordered) < 2:
            raise ValueError(f"{cls.name} needs at least two modalities, got dims {dict(dims)}")
        return ordered

    @abstractmethod
    def build(self, tasks: list[Task]) -> None:
        """Create the networks for ``self.dims`` and ``self.config`` that serve ``tasks``."""

    # ------------------------------------------------------------------ training

    @abstractmethod
    def objective(self, batch: Batch) -> Objective:
        """The loss on one partially paired batch, and optionally its named terms."""

    def loss(self, batch: Batch) -> Tensor:
        """The scalar training loss on ``batch`` (what ``training_step`` minimises)."""
        return self.objective(batch).total

    def has_signal(self, batch: Batch) -> bool:
        """Whether :meth:`objective` has something to learn from in ``batch``.

        The default serves methods that learn only from pairings: some row holds two or
        more of the method's modalities. A method that learns from other rows overrides it.
        """
        present = present_matrix(batch, list(self.dims))
        return bool((present.sum(dim=1) >= 2).any())

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor | None:
        """Minimise the objective; log it as ``train/loss`` and its terms as ``train/<name>``
        on the steps :meth:`_logs_losses_this_step` names.

        A batch without signal (:meth:`has_signal`) returns ``None``. Lightning's automatic
        optimisation (2.6) then runs no backward pass, and the optimiser step it still
        calls changes nothing (every gradient was set to ``None``); the batch counts as a
        global step (what a steps budget reads) but leaves the learning-rate schedule where
        it was (:meth:`lr_scheduler_step`, as the official FlowBind loop, which skips such
        a batch before its scheduler step). It is counted in
        ``skipped_batches`` and logged as ``train/skipped_batches``. A NaN or infinite
        loss raises :class:`NonFiniteOutput` naming the step: the run fails there instead
        of training on with NaN weights.

        Under data parallelism (benchmark/run/distributed.py) the batch is skipped only when
        no process's share has signal; a process whose share has none while another's
        has returns ``0 * sum(parameters)``, so it still joins DDP's gradient average
        with zero gradients (the mean over processes of their gradients, as DDP always
        takes it).
        """
        rows = batch_rows(batch)
        here = has_signal = self.has_signal(batch)
        if self._trainer is not None and self.trainer.world_size > 1:
            has_signal = self.trainer.strategy.reduce_boolean_decision(here, all=False)
        # every process steps the schedule alike: a batch is skipped only if skipped everywhere
        self._skipped_last_batch = not has_signal
        if has_signal and not here:
            return sum(p.sum() for p in self.parameters() if p.requires_grad) * 0.0
        if not has_signal:
            self.skipped_batches += 1
            log.info("%s skipped training batch %d: no row it learns from (%d skipped so far)",
                     self.name, batch_idx, self.skipped_batches)
            self.log("train/skipped_batches", float(self.skipped_batches), batch_size=rows)
            return None
        objective = self.objective(batch)
        if not torch.isfinite(objective.total):
            raise NonFiniteOutput(f"{self.name}'s training loss became {objective.total.item()} "
                                  f"at step {self.global_step}: the run failed")
        if self._logs_losses_this_step():
            self.log("train/loss", objective.total, prog_bar=True, batch_size=rows)
            for name, value in objective.terms.items():
                self.log(f"train/{name}", value, batch_size=rows)
        return objective.total

    def _logs_losses_this_step(self) -> bool:
        """Whether :meth:`training_step` logs this step's loss and terms: on the first step
        (so ``trainer.callback_metrics["train/loss"]`` holds a loss from then on), on the
        steps Lightning writes a row of its loggers (step ``s``, counted from 0, with
        ``(s + 1) % log_every_n_steps == 0``) and on the Trainer's last step when it has a
        ``max_steps``. Between those, ``callback_metrics`` keeps the last logged loss.

        Logging every step spent training time on values no logger wrote: under cProfile,
        the ``self.log`` calls and moving their values took about 2 ms of the 3 ms the
        harness added to each FlowBind step (docs/performance.md). A Trainer that stops on
        ``should_stop`` alone (a ``seconds`` budget) may write its last row without the
        single-batch loss; the training log's ``train/loss_mean``
        (benchmark/run/training_log.py) is written on every row.
        """
        if self._trainer is None:
            return True
        step, trainer = self.global_step, self.trainer
        every = trainer.log_every_n_steps
        return (step == 0 or (every > 0 and (step + 1) % every == 0)
                or 0 < trainer.max_steps <= step + 1)

    def lr_scheduler_step(self, scheduler: LRScheduler, metric: Any | None) -> None:
        """Step the schedule after a batch that trained; after a skipped batch
        (:meth:`training_step` returned ``None``) the schedule stays where it was, so the
        warm-up multiplier counts the optimiser steps actually taken."""
        if self._skipped_last_batch:
            return
        if metric is None:
            scheduler.step()
        else:
            scheduler.step(metric)

    def transfer_batch_to_device(self, batch: Batch, device: torch.device,
                                 dataloader_idx: int) -> Batch:
        """The batch on ``device``. The training loader makes CPU tensors, so on the CPU
        the batch is returned as it is: Lightning's generic walk over its nested dicts, which
        moved nothing, cost about 0.9 ms per step."""
        if device.type == "cpu":
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

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

    # ----------------------------------------------------------------- inference

    def generate(
        self,
        sources: Mapping[Modality, Tensor],
        targets: Sequence[Modality],
        *,
        steps: int,
        guidance: float | None = None,
        generator: torch.Generator | None = None,
        solver: str | Solver = "euler",
        **options: Any,
    ) -> dict[Modality, Tensor]:
        """Sample target embeddings ``{target: Tensor[B, D_target]}`` given source embeddings.

        Args:
            sources: ``{modality: Tensor[B, D_m]}``, at least one.
            targets: the modalities to generate, at least one, none of them a source.
            steps: solver steps (``>= 1``; adaptive solvers choose their own).
            guidance: classifier-free guidance scale ``s``; ``None`` or 1 is none. A
                method without guidance refuses any other value.
            generator: the source of all sampling noise (a seeded one makes it repeatable).
            solver: ``"euler"`` (fixed steps, the default), an adaptive method of
                :data:`~methods.sampling.ADAPTIVE_METHODS`, or a
                :class:`~methods.sampling.Solver`.
            **options: the method's own options, named in ``sampling_options``.

        A task the method cannot serve is a ``ValueError`` naming the reason. The model
        samples in eval mode without gradients and returns to its previous mode.
        """
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if not sources or not targets:
            raise ValueError("generate needs at least one source and one target")
        both = [m for m in targets if m in sources]
        if both:
            raise ValueError(f"'{both[0]}' cannot be both a source and a target")
        if guidance is not None and not self.offers_guidance:
            raise ValueError(f"{self.name} has no guidance: pass guidance=None")
        unknown = sorted(set(options) - set(self.sampling_options))
        if unknown:
            raise TypeError(
                f"{self.name} has no sampling option '{unknown[0]}'"
                + (f": {did_you_mean(unknown[0], list(self.sampling_options))}"
                   if self.sampling_options else "")
            )
        reason = self.refusal(Task(tuple(sources), tuple(targets)))
        if reason is not None:
            raise ValueError(reason)
        call = SamplingCall(
            sources=sources,
            targets=list(targets),
            steps=steps,
            guidance=None if guidance == 1.0 else guidance,
            generator=generator,
            solver=solver_named(solver) if isinstance(solver, str) else solver,
            options=options,
        )
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self.sample(call)
        finally:
            self.train(was_training)

    @abstractmethod
    def sample(self, call: SamplingCall) -> dict[Modality, Tensor]:
        """The targets of a checked :meth:`generate` call (in eval mode, without gradients)."""

    def noise(self, modality: Modality, like: Tensor, generator: torch.Generator | None) -> Tensor:
        """``eps ~ N(0, I)``: ``Tensor[rows of like, D_modality]`` drawn from ``generator``."""
        return torch.randn(
            like.shape[0], self.dims[modality], generator=generator, device=like.device,
            dtype=like.dtype,
        )

    @property
    def offers_guidance(self) -> bool:
        """Whether :meth:`generate` takes a guidance scale (the config has ``guidance``)."""
        return hasattr(self.config, "guidance")

    @property
    def default_sampling_steps(self) -> int:
        return self.config.sampling_steps

    @property
    def default_guidance(self) -> float | None:
        """The guidance scale used when the user gives none (None: unguided)."""
        return getattr(self.config, "guidance", None)

    @abstractmethod
    def velocity_networks(self) -> list[nn.Module]:
        """The modules whose forward pass is one function evaluation of the sampler (most
        methods: :func:`drift_networks`). NFE counts the rows they process."""

    # ------------------------------------------------------------------- serving

    def refusal(self, task: Task) -> str | None:
        """``None`` if the method can serve ``task``, else the reason it cannot (by design).
        A round trip is served when both of its legs are."""
        missing = [m for m in task.modalities if m not in self.dims]
        if missing:
            return f"this {self.name} model was built without '{missing[0]}'"
        for leg in task.legs:
            reason = self.own_refusal(leg)
            if reason is not None:
                return reason if leg == task else f"its {leg.name} leg: {reason}"
        return None

    def own_refusal(self, task: Task) -> str | None:
        """The method's own reason to refuse ``task``, whose modalities it was built with."""
        return None

    def supports(self, task: Task) -> bool:
        return self.refusal(task) is None

    def parameter_count(self, tasks: Iterable[Task]) -> int:
        """Parameters needed to serve all of ``tasks`` (shared networks counted once)."""
        tasks = list(tasks)
        for task in tasks:
            reason = self.refusal(task)
            if reason is not None:
                raise ValueError(f"cannot serve task '{task}': {reason}")
        return count_parameters(self.serving_parts(_generation_tasks(tasks)))

    @abstractmethod
    def serving_parts(self, tasks: list[Task]) -> list[nn.Module | Tensor]:
        """The modules and parameters that serving ``tasks`` (all servable) uses."""

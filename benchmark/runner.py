"""One benchmark run, following the pipeline of DESIGN §1:

    dataset -> backbone.encode (cached) -> method.fit -> method.generate
            -> backbone.decode -> judges -> RunRecord

Every stage reads only what the previous one produced; the dataset, backbones, judges
and embeddings are cached under keys that hash their full configuration.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from benchmark.budget import Budget, BudgetCallback, training_flops_per_step
from benchmark.core.cache import config_hash
from benchmark.core.errors import UserError
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES
from benchmark.core.registry import did_you_mean
from benchmark.core.tasks import Task, all_tasks, parse_task
from benchmark.efficiency import function_evaluations_per_item, peak_memory_mb
from benchmark.evaluation import Media, RealReference, score_target
from benchmark.preparation import stage
from benchmark.profiles import PROFILES, Profile
from benchmark.records import (
    RunRecord,
    provenance,
    write_per_sample,
    write_record,
    write_samples,
)
from benchmark.reference_rows import reference_rows
from methods import METHODS
from metrics.evaluators import (
    Evaluators,
    check_evaluator_kind,
    embedded_evaluators,
    pretrained_evaluators,
)
from metrics.value import MetricValue

PROTOCOLS = ("task", "suite")


@dataclass(frozen=True)
class RunConfig:
    """What the user asked for; ``None`` means the method's or profile's default."""

    method: str
    task: str
    preset: str = "tiny"
    seed: int = 0
    profile: str = "default"
    steps: int | None = None
    budget: str | None = None
    sampling_steps: int | None = None
    guidance: float | None = None
    evaluator: str = "embedded"
    weights: Path | None = None
    protocol: str = "task"
    results_dir: Path = Path("results/runs")
    progress: bool = True

    def identity(self) -> dict:
        """The settings that determine a run's results (not where it writes or how it
        shows progress); their hash is the record's ``run_key``, which sweeps resume by."""
        return {
            "method": self.method, "task": parse_task(self.task).name, "preset": self.preset,
            "seed": self.seed, "profile": self.profile, "steps": self.steps,
            "budget": self.budget, "sampling_steps": self.sampling_steps,
            "guidance": self.guidance, "evaluator": self.evaluator,
            "weights": None if self.weights is None else str(self.weights),
            "protocol": self.protocol,
        }

    def run_key(self) -> str:
        return config_hash(self.identity())


def _quiet_lightning() -> None:
    """Lightning's info banners and its own internal deprecation notices are not ours."""
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*treespec, LeafSpec.*")


@dataclass(frozen=True)
class ResolvedRun:
    method_cls: type
    task: Task
    profile: Profile
    overrides: dict
    budget: Budget | None


def validate(config: RunConfig) -> ResolvedRun:
    """Resolve everything up front, before any expensive work; bad input is a UserError.

    The method is built once on the meta device (nothing allocated) so that unknown
    settings and tasks it cannot serve by design are refused before data is prepared.
    """
    method_cls = METHODS.get(config.method)
    task = parse_task(config.task)
    profile = PROFILES.get(config.profile)
    if config.preset not in method_cls.presets:
        raise UserError(
            f"unknown preset '{config.preset}' for {config.method}: "
            f"{did_you_mean(config.preset, list(method_cls.presets))}"
        )
    if config.preset == "paper":
        raise UserError(
            "preset 'paper' needs the paper's 768-d pretrained encoders, which the embedded "
            "benchmark does not have (its size is in every record's params); use --preset tiny"
        )
    check_evaluator_kind(config.evaluator)
    if config.protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol '{config.protocol}': "
                        f"{did_you_mean(config.protocol, list(PROTOCOLS))}")
    if config.evaluator == "pretrained":
        from metrics.weights import CLAP, CLIP, INCEPTION, WeightsConfig

        WeightsConfig.load(config.weights).require(INCEPTION, CLIP, CLAP)
    for name, value in (("--steps", config.steps), ("--sampling-steps", config.sampling_steps)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be a positive integer, got {value}")
    if config.steps is not None and config.budget is not None:
        raise UserError("give either --steps N or --budget KIND=VALUE, not both "
                        "(--steps N is --budget steps=N)")
    budget = Budget.parse(config.budget) if config.budget is not None else None
    overrides = dict(profile.method_overrides)
    if config.steps is not None:
        overrides["max_steps"] = config.steps
    dims = {m: profile.backbones.dim for m in MODALITIES}
    tasks = [task] if config.protocol == "task" else None
    with torch.device("meta"):
        probe = method_cls(dims, preset=config.preset, tasks=tasks, **overrides)
    refusal = probe.refusal(task)
    if refusal is not None:
        raise UserError(f"{config.method} cannot run {task.name}: {refusal}")
    if config.guidance is not None and probe.default_guidance is None:
        raise UserError(f"{config.method} has no guidance; drop --guidance")
    return ResolvedRun(method_cls, task, profile, overrides, budget)


def build_evaluators(config: RunConfig, profile: Profile, inputs) -> Evaluators:
    """The run's evaluators (embedded judges, or pretrained models from local files)."""
    version = profile.scenes.version
    if config.evaluator == "pretrained":
        return pretrained_evaluators(inputs.judges, inputs.contrastive_judges, version,
                                     config.weights, inputs.splits["test"].sample_rate)
    return embedded_evaluators(inputs.judges, inputs.contrastive_judges, version)


def suite_parameter_counts(
    method_cls: type, dims: dict[str, int], preset: str, overrides: dict
) -> dict[str, int]:
    """Parameters of an instance built to serve every task it supports (on the meta
    device, nothing allocated): all it trains, and what serving that suite needs."""
    with torch.device("meta"):
        model = method_cls(dims, preset=preset, **overrides)
    suite = [t for t in all_tasks() if model.supports(t)]
    return {
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "serve": model.parameter_count(suite),
        "tasks": len(suite),
    }


def _as_dicts(values: dict[str, MetricValue]) -> dict[str, dict]:
    return {name: value.to_dict() for name, value in values.items()}


@dataclass
class TrainedMethod:
    """A method after training under its budget, with what its records need."""

    method: object
    meter: BudgetCallback
    budget: Budget
    dims: dict[str, int]


def run(config: RunConfig) -> tuple[RunRecord, Path]:
    """Execute one run end to end and write its RunRecord; returns (record, path)."""
    (result,) = run_tasks([config])
    return result


def run_tasks(configs: Sequence[RunConfig]) -> list[tuple[RunRecord, Path]]:
    """Train once and write one record per config's task.

    The configs may differ only in their task. Under ``protocol="task"`` there is exactly
    one; under ``protocol="suite"`` the method is built to serve every task it supports
    and trained once, and each listed task is evaluated from that one model.
    """
    from benchmark.preparation import prepare_inputs

    first = configs[0]
    if any(dataclasses.replace(c, task=first.task) != first for c in configs):
        raise ValueError("configs trained together may differ only in their task")
    if first.protocol == "task" and len(configs) > 1:
        raise UserError("--protocol task trains one model per task: give one --task, or "
                        "use --protocol suite (or `sweep`)")
    resolved_runs = [validate(config) for config in configs]
    _quiet_lightning()
    inputs = prepare_inputs(resolved_runs[0].profile, progress=first.progress)
    evaluators = build_evaluators(first, resolved_runs[0].profile, inputs)
    trained = _train(first, resolved_runs[0], inputs)
    return [_evaluate(config, resolved, trained, inputs, evaluators)
            for config, resolved in zip(configs, resolved_runs, strict=True)]


def _train(config: RunConfig, resolved_run: ResolvedRun, inputs) -> TrainedMethod:
    """Build the method for the protocol and train it under the budget."""
    import pytorch_lightning as pl

    from benchmark.embeddings import training_loader

    train = inputs.embeddings["train"]
    dims = {m: inputs.backbones[m].dim for m in MODALITIES}
    tasks = [resolved_run.task] if config.protocol == "task" else None
    pl.seed_everything(config.seed, verbose=False)
    method = resolved_run.method_cls(dims, preset=config.preset, tasks=tasks,
                                     **resolved_run.overrides)
    batch_size = method.config.batch_size
    budget = resolved_run.budget or Budget("steps", method.config.max_steps)
    # A separate loader for the FLOP probe, so the training shuffle is not advanced.
    probe_batch = next(iter(training_loader(train, batch_size, config.seed)))
    meter = BudgetCallback(budget, training_flops_per_step(method, probe_batch))

    scope = resolved_run.task.name if tasks else "every task it serves"
    stage(f"training {config.method} [{config.preset}] for {scope} under budget {budget}")
    trainer = pl.Trainer(
        max_steps=-1, max_epochs=-1, accelerator="auto", devices=1, logger=False,
        enable_checkpointing=False, enable_model_summary=False, callbacks=[meter],
        enable_progress_bar=config.progress, deterministic=True,
    )
    trainer.fit(method, training_loader(train, batch_size, config.seed))
    return TrainedMethod(method.cpu(), meter, budget, dims)


def _score_outputs(outputs: dict[str, torch.Tensor], task: Task, backbones: dict,
                   reference: RealReference, seed: int
                   ) -> tuple[dict[str, MetricValue], dict[str, Media]]:
    """Decode a method's embeddings of every target modality and score them; returns the
    scores and the decoded media."""
    scores: dict[str, MetricValue] = {}
    decoded: dict[str, Media] = {}
    for target in task.targets:
        decoded[target] = backbones[target].decode(outputs[target])
        scores.update(score_target(target, task.sources, decoded[target],
                                   outputs[target].numpy(), reference, seed=seed))
    return scores, decoded


GALLERY_ITEMS = 6


def gallery_samples(task: Task, test: MediaSplit, generated: dict[str, Media],
                    items: int = GALLERY_ITEMS) -> dict[str, np.ndarray]:
    """The first ``items`` test items of a task, for a report's sample gallery: each
    source (``source/<modality>``), what the method made (``generated/<modality>``) and
    the real target (``truth/<modality>``). Captions are stored as unicode arrays."""
    def first(media: Media) -> np.ndarray:
        return np.asarray(list(media[:items]) if isinstance(media, list) else media[:items])

    samples = {f"source/{m}": first(test.media(m)) for m in task.sources}
    for target in task.targets:
        samples[f"generated/{target}"] = first(generated[target])
        samples[f"truth/{target}"] = first(test.media(target))
    return samples


def _evaluate(config: RunConfig, resolved_run: ResolvedRun, trained: TrainedMethod, inputs,
              evaluators: Evaluators) -> tuple[RunRecord, Path]:
    """Sample the task from the trained method, score it, write its record."""
    task, profile = resolved_run.task, resolved_run.profile
    method, meter, budget, dims = trained.method, trained.meter, trained.budget, trained.dims
    method_cls, overrides = resolved_run.method_cls, resolved_run.overrides
    splits, backbones = inputs.splits, inputs.backbones
    test = inputs.embeddings["test"]
    train_s = meter.seconds

    stage(f"sampling {task.name}")
    steps = config.sampling_steps or method.default_sampling_steps
    guidance = config.guidance if config.guidance is not None else method.default_guidance
    sources = {m: test.embeddings[m] for m in task.sources}
    started = time.perf_counter()
    generated, nfe = function_evaluations_per_item(method, len(test), lambda: method.generate(
        sources, task.targets, steps=steps, guidance=guidance,
        generator=torch.Generator().manual_seed(config.seed),
    ))
    sample_s = time.perf_counter() - started

    stage(f"evaluating ({evaluators.kind} evaluators)")
    started = time.perf_counter()
    reference = RealReference(
        test=splits["test"],
        embeddings={m: test.embeddings[m].numpy() for m in MODALITIES},
        evaluators=evaluators,
        embedding_evaluator=f"backbone:{profile.scenes.version}",
    )
    metrics, decoded = _score_outputs(generated, task, backbones, reference, config.seed)
    references = reference_rows(task, config.seed, profile, config.evaluator, inputs,
                                reference)
    eval_s = time.perf_counter() - started

    stage("scoring the checkpoints at fractions of the budget (quality vs compute)")
    started = time.perf_counter()
    curve = []
    for checkpoint in meter.checkpoints:
        figures = {k: v for k, v in checkpoint.items() if k != "weights"}
        if checkpoint is meter.checkpoints[-1]:  # the trained model itself, scored above
            curve.append({**figures, "metrics": _as_dicts(metrics)})
            continue
        snapshot = copy.deepcopy(method)
        snapshot.load_state_dict(checkpoint["weights"])
        outputs = snapshot.generate(sources, task.targets, steps=steps, guidance=guidance,
                                    generator=torch.Generator().manual_seed(config.seed))
        scores, _ = _score_outputs(outputs, task, backbones, reference, config.seed)
        curve.append({**figures, "metrics": _as_dicts(scores)})
    curve_eval_s = time.perf_counter() - started

    resolved = {
        "run": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "profile": profile.name,
        "scenes": asdict(profile.scenes),
        "backbones": asdict(profile.backbones),
        "judges": asdict(profile.judges),
        "contrastive_judges": asdict(profile.contrastive),
        "method": asdict(method.config),
    }
    suite = suite_parameter_counts(method_cls, dims, config.preset, overrides)
    paper = suite_parameter_counts(
        method_cls, dict(method_cls.paper_embedding_dims), "paper", {}
    )
    run_id = (f"{time.strftime('%Y%m%dT%H%M%S')}-{config.method}-{task.name}-"
              f"{config.preset}-s{config.seed}-{uuid.uuid4().hex[:6]}")
    per_sample = {
        f"{row}/{name}": value.per_sample
        for row, values in [("generated", metrics), ("oracle", references.oracle),
                            ("chance", references.chance), ("real", references.ceilings)]
        for name, value in values.items() if value.per_sample is not None
    }
    per_sample_path = write_per_sample(run_id, per_sample, config.results_dir)
    samples_path = write_samples(run_id, gallery_samples(task, splits["test"], decoded),
                                 config.results_dir)
    record = RunRecord(
        run_id=run_id,
        method=config.method,
        task=task.name,
        dataset=f"scenes:{profile.name}",
        preset=config.preset,
        seed=config.seed,
        status="ok",
        budget={"kind": budget.kind, "value": budget.value, "used": meter.spent(),
                **meter.figures(), "flops_per_step": meter.flops_per_step},
        params={
            "trainable": sum(p.numel() for p in method.parameters() if p.requires_grad),
            "serve_task": method.parameter_count([task]),
            "serve_suite": suite["serve"],
            "suite_tasks": suite["tasks"],
            "suite_trainable": suite["trainable"],
            "paper_preset_trainable": paper["trainable"],
            "paper_preset_serve_suite": paper["serve"],
        },
        timing={
            "train_s": round(train_s, 3),
            "sample_s": round(sample_s, 3),
            "eval_s": round(eval_s, 3),
            "curve_eval_s": round(curve_eval_s, 3),
            "samples_per_s": round(meter.samples / train_s, 1),
            "train_flops_per_s": round(meter.flops / train_s),
            "sample_ms_per_item": round(1000 * sample_s / len(test), 4),
            "nfe_per_item": nfe,
            **peak_memory_mb(),
        },
        sampling={"steps": steps, "guidance": guidance, "n": len(test)},
        metrics=_as_dicts(metrics),
        references={"oracle": _as_dicts(references.oracle),
                    "chance": _as_dicts(references.chance)},
        judges=_as_dicts(references.ceilings),
        config=resolved,
        provenance=provenance(config_hash(resolved)),
        flops=meter.flops,
        per_sample_file=per_sample_path.name,
        samples_file=samples_path.name,
        run_key=config.run_key(),
        curve=curve,
        protocol=config.protocol,
        extra={"single_stage": method.single_stage},
    )
    return record, write_record(record, config.results_dir)

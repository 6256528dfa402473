"""One benchmark run, following the pipeline of DESIGN §1:

    dataset -> backbone.encode (cached) -> method.fit -> method.generate
            -> backbone.decode -> judges -> RunRecord

Every stage reads only what the previous one produced; the dataset, backbones, judges
and embeddings are cached under keys that hash their full configuration.
"""

from __future__ import annotations

import logging
import time
import uuid
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from benchmark.cache import config_hash
from benchmark.errors import UserError
from benchmark.evaluation import TargetReference, decode_and_score, metric_id
from benchmark.modalities import MODALITIES
from benchmark.preparation import stage
from benchmark.profiles import PROFILES, Profile
from benchmark.records import RunRecord, provenance, write_record
from benchmark.registry import did_you_mean
from benchmark.tasks import Task, all_tasks, parse_task
from methods import METHODS
from metrics.attribute_accuracy import attribute_accuracy


@dataclass(frozen=True)
class RunConfig:
    """What the user asked for; ``None`` means the method's or profile's default."""

    method: str
    task: str
    preset: str = "tiny"
    seed: int = 0
    profile: str = "default"
    steps: int | None = None
    sampling_steps: int | None = None
    guidance: float | None = None
    results_dir: Path = Path("results/runs")
    progress: bool = True


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
    for name, value in (("--steps", config.steps), ("--sampling-steps", config.sampling_steps)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be a positive integer, got {value}")
    overrides = dict(profile.method_overrides)
    if config.steps is not None:
        overrides["max_steps"] = config.steps
    dims = {m: profile.backbones.dim for m in MODALITIES}
    with torch.device("meta"):
        probe = method_cls(dims, preset=config.preset, tasks=[task], **overrides)
    refusal = probe.refusal(task)
    if refusal is not None:
        raise UserError(f"{config.method} cannot run {task.name}: {refusal}")
    if config.guidance is not None and probe.default_guidance is None:
        raise UserError(f"{config.method} has no guidance; drop --guidance")
    return ResolvedRun(method_cls, task, profile, overrides)


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


def run(config: RunConfig) -> tuple[RunRecord, Path]:
    """Execute one run end to end and write its RunRecord; returns (record, path)."""
    import pytorch_lightning as pl

    from benchmark.embeddings import training_loader
    from benchmark.preparation import prepare_inputs

    resolved_run = validate(config)
    method_cls, task, profile = resolved_run.method_cls, resolved_run.task, resolved_run.profile
    overrides = resolved_run.overrides
    _quiet_lightning()
    inputs = prepare_inputs(profile, progress=config.progress)
    splits, backbones, judges = inputs.splits, inputs.backbones, inputs.judges
    train, test = inputs.embeddings["train"], inputs.embeddings["test"]

    dims = {m: backbones[m].dim for m in MODALITIES}
    pl.seed_everything(config.seed, verbose=False)
    method = method_cls(dims, preset=config.preset, tasks=[task], **overrides)
    max_steps = method.config.max_steps
    batch_size = method.config.batch_size

    stage(f"training {config.method} [{config.preset}] for {max_steps} steps")
    trainer = pl.Trainer(
        max_steps=max_steps, max_epochs=-1, accelerator="auto", devices=1, logger=False,
        enable_checkpointing=False, enable_model_summary=False,
        enable_progress_bar=config.progress, deterministic=True,
    )
    started = time.perf_counter()
    trainer.fit(method, training_loader(train, batch_size, config.seed))
    train_s = time.perf_counter() - started

    stage(f"sampling {task.name}")
    method = method.cpu()
    steps = config.sampling_steps or method.default_sampling_steps
    guidance = config.guidance if config.guidance is not None else method.default_guidance
    sources = {m: test.embeddings[m] for m in task.sources}
    started = time.perf_counter()
    generated = method.generate(
        sources, task.targets, steps=steps, guidance=guidance,
        generator=torch.Generator().manual_seed(config.seed),
    )
    sample_s = time.perf_counter() - started

    stage("evaluating (decode + judges)")
    started = time.perf_counter()
    evaluator = f"judge:{profile.scenes.version}"
    rng = np.random.default_rng(config.seed)
    test_attributes = splits["test"].attributes
    metrics, references, ceilings = {}, {"oracle": {}, "chance": {}}, {}
    for target in task.targets:
        real = splits["test"].media(target)
        judge = judges[target]
        reference = TargetReference(judge.features(real).numpy(), test_attributes)
        ceiling = attribute_accuracy(judge.predict(real).numpy(), test_attributes)
        ceilings[target] = {metric_id(target, "attr_acc", evaluator): ceiling.to_dict()}
        candidates = np.flatnonzero(train.present[target].numpy())
        chance_rows = torch.from_numpy(rng.choice(candidates, size=len(test), replace=False))
        rows = {
            "generated": generated[target],
            "oracle": test.embeddings[target],
            "chance": train.embeddings[target][chance_rows],
        }
        for row, z in rows.items():
            scores, _ = decode_and_score(target, z, backbones[target], judge, reference,
                                         evaluator, seed=config.seed)
            bucket = metrics if row == "generated" else references[row]
            bucket.update({k: v.to_dict() for k, v in scores.items()})
    eval_s = time.perf_counter() - started

    resolved = {
        "run": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "profile": profile.name,
        "scenes": asdict(profile.scenes),
        "backbones": asdict(profile.backbones),
        "judges": asdict(profile.judges),
        "method": asdict(method.config),
    }
    suite = suite_parameter_counts(method_cls, dims, config.preset, overrides)
    paper = suite_parameter_counts(
        method_cls, dict(method_cls.paper_embedding_dims), "paper", {}
    )
    record = RunRecord(
        run_id=f"{time.strftime('%Y%m%dT%H%M%S')}-{config.method}-{task.name}-"
               f"{config.preset}-s{config.seed}-{uuid.uuid4().hex[:6]}",
        method=config.method,
        task=task.name,
        dataset=f"scenes:{profile.name}",
        preset=config.preset,
        seed=config.seed,
        status="ok",
        budget={"kind": "steps", "value": max_steps, "used": trainer.global_step,
                "samples_seen": trainer.global_step * batch_size},
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
            "samples_per_s": round(trainer.global_step * batch_size / train_s, 1),
        },
        sampling={"steps": steps, "guidance": guidance, "n": len(test)},
        metrics=metrics,
        references=references,
        judges=ceilings,
        config=resolved,
        provenance=provenance(config_hash(resolved)),
    )
    return record, write_record(record, config.results_dir)

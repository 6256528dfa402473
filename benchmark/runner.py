"""One benchmark run, following the pipeline of DESIGN §1:

    dataset -> backbone.encode (cached) -> method.fit -> method.generate
            -> backbone.decode -> judges -> RunRecord

Every stage reads only what the previous one produced; the dataset, backbones, judges
and embeddings are cached under keys that hash their full configuration.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from benchmark.budget import BudgetCallback, training_flops_per_step
from benchmark.core.budget import Budget
from benchmark.core.cache import config_hash
from benchmark.core.config import RunConfig
from benchmark.core.errors import NonFiniteOutput, UserError
from benchmark.core.feature_split import FeatureSplit
from benchmark.core.media_split import MediaSplit
from benchmark.core.ranks import is_secondary_rank
from benchmark.core.stage_clock import StageClock, timed
from benchmark.core.tasks import Task, all_tasks
from benchmark.core.threads import load_average
from benchmark.distributed import TrainingData, TrainingEngine, trainer_arguments
from benchmark.efficiency import function_evaluations_per_item, peak_memory_mb
from benchmark.evaluation import RealReference, Scores, score_outputs, score_source_gains
from benchmark.preparation import stage
from benchmark.records import (
    RunRecord,
    dataset_config,
    provenance,
    write_features,
    write_per_sample,
    write_record,
    write_samples,
)
from benchmark.reference_rows import ReferenceRows, reference_rows
from benchmark.resolution import ResolvedRun, resolve
from benchmark.staging import Staging, staging
from benchmark.training_log import (
    TrainingLogCallback,
    log_file,
    logging_interval,
    training_loggers,
)
from metrics.evaluators.evaluator_set import (
    Evaluators,
    embedded_evaluators,
    pretrained_evaluators,
)
from metrics.spec import Media
from metrics.value import MetricValue, point_estimates


def _quiet_lightning() -> None:
    """Lightning's info banners and its own internal deprecation notices are not ours."""
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*treespec, LeafSpec.*")
    # A logging interval longer than an epoch is fine: the log counts steps across epochs.
    warnings.filterwarnings("ignore", message=r".*is smaller than the logging interval.*")


def build_evaluators(config: RunConfig, inputs) -> Evaluators:
    """The run's evaluators (embedded judges, or pretrained models from local files)."""
    version = inputs.dataset.version
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
    """A method after training under its budget, with what its records need: the batch
    size each process trained with (its own, or less when the training split is smaller
    than a global batch) and how it trained (benchmark/distributed.py
    ``TrainingEngine.summary``)."""

    method: object
    meter: BudgetCallback
    budget: Budget
    dims: dict[str, int]
    batch_size: int
    engine: dict[str, object]


def run_tasks(configs: Sequence[RunConfig]) -> list[tuple[RunRecord, Path]]:
    """Train once and write one record per config's task.

    The configs may differ only in their task. Under ``protocol="task"`` there is exactly
    one; under ``protocol="suite"`` the method is built to serve every task it supports
    and trained once, and each listed task is evaluated from that one model. The training
    log is written to ``<results>/logs/<the first record's run_id>/`` and every record
    names it. Files reach the results folder through a staging folder, each record after
    its files and the log with the first record (benchmark/staging.py). A secondary rank
    of a multi-process training (benchmark/distributed.py) only trains and returns no
    records.
    """
    from benchmark.preparation import prepare_inputs

    load_at_start = load_average()
    first = configs[0]
    if any(c.with_task(first.task) != first for c in configs):
        raise ValueError("configs trained together may differ only in their task")
    if first.protocol == "task" and len(configs) > 1:
        raise UserError("--protocol task trains one model per task: give one --task, or "
                        "use --protocol suite (or `sweep`)")
    resolved_runs = [resolve(config) for config in configs]
    _quiet_lightning()
    inputs = prepare_inputs(resolved_runs[0].profile, progress=first.progress,
                            tasks=[config.task for config in configs])
    for config in configs:
        require_test_modalities(config.task, inputs.splits["test"],
                                inputs.dataset.settings().get("path", inputs.dataset.name))
    if is_secondary_rank():  # trains its share; rank 0 evaluates and writes (distributed.py)
        with tempfile.TemporaryDirectory(prefix="anybench-rank-") as log_dir:
            train_method(first, resolved_runs[0], inputs, Path(log_dir))
        return []
    evaluators = build_evaluators(first, inputs)
    run_ids = [config.new_run_id() for config in configs]
    # Everything is written into a staging folder and published record by record, the
    # record last (benchmark/staging.py): a killed run leaves nothing half-written.
    with staging(first.results_dir, run_ids[0]) as area:
        log_name = f"logs/{run_ids[0]}"
        log_dir = area.folder / log_name
        trained = train_method(first, resolved_runs[0], inputs, log_dir)
        training_log = log_file(log_dir).relative_to(area.folder).as_posix()
        return [_evaluate(config, resolved, trained, inputs, evaluators, run_id, training_log,
                          area, [log_name] if index == 0 else [], load_at_start)
                for index, (config, resolved, run_id)
                in enumerate(zip(configs, resolved_runs, run_ids, strict=True))]


def require_test_modalities(task: Task, test: MediaSplit | FeatureSplit, where: str) -> None:
    """Every test item must hold each modality ``task`` reads, passes through (a round
    trip's middle) or generates: the scores compare each item's outputs with its own real
    target and sources."""
    from benchmark.data.manifest import BadData

    for modality in task.modalities:
        lacking = np.flatnonzero(~test.has(modality))
        if len(lacking):
            problem = f"test items without {modality}, which {task.name} needs"
            if test.item_lines is None:
                problem = f"{len(lacking)} {problem}"
            lines = [] if test.item_lines is None else test.item_lines[lacking].tolist()
            raise BadData(Path(where), problem, lines,
                          f"give every test item {modality}, or run tasks without it")


def train_method(config: RunConfig, resolved_run: ResolvedRun, inputs, log_dir: Path
                 ) -> TrainedMethod:
    """Build the method for the protocol and train it under the budget, its training log
    (benchmark/training_log.py) written into ``log_dir``, on the devices and with the
    strategy and precision ``config`` asks for (benchmark/distributed.py)."""
    import pytorch_lightning as pl
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    from benchmark.embeddings import training_loader

    train = inputs.embeddings["train"]
    dims = inputs.dims
    world = config.world_size
    tasks = [config.task] if config.protocol == "task" else None
    pl.seed_everything(config.seed, verbose=False)
    method = resolved_run.method_cls(dims, preset=config.preset, tasks=tasks,
                                     **resolved_run.overrides)
    batch_size = min(method.config.batch_size, len(train) // world)
    if batch_size < 1:
        raise UserError(f"the training split has {len(train)} items, fewer than the {world} "
                        "training processes asked for: give fewer --devices / --num-nodes")
    if batch_size < method.config.batch_size:
        stage(f"the training split has {len(train)} items, fewer than one global batch of "
              f"{method.config.batch_size} x {world} processes: training on batches of "
              f"{batch_size} per process")
    budget = resolved_run.budget or Budget("steps", method.config.max_steps)
    # A separate loader for the FLOP probe, so the training shuffle is not advanced; it
    # probes the first batch the method learns from (one without signal is skipped).
    probe_batch = next((batch for batch in training_loader(train, batch_size, config.seed)
                        if method.has_signal(batch)), None)
    if probe_batch is None:
        raise UserError(f"{config.method} has nothing to learn from in this dataset's "
                        "training split: no training item holds two of its modalities")
    meter = BudgetCallback(budget, training_flops_per_step(method, probe_batch) * world)
    log_every = logging_interval(budget, batch_size * world, meter.flops_per_step)
    engine = TrainingEngine()

    scope = config.task.name if tasks else "every task it serves"
    processes = f" on {world} processes" if world > 1 else ""
    stage(f"training {config.method} [{config.preset}] for {scope} under budget {budget}"
          f"{processes}")
    try:
        trainer = pl.Trainer(
            max_steps=-1, max_epochs=-1, **trainer_arguments(config),
            logger=training_loggers(config.logger, log_dir), log_every_n_steps=log_every,
            enable_checkpointing=False, enable_model_summary=False,
            callbacks=[meter, TrainingLogCallback(meter), engine],  # the log reads the meter
            enable_progress_bar=config.progress, deterministic=True,
        )
    except (MisconfigurationException, ValueError) as error:
        raise UserError(f"Lightning cannot train with --accelerator {config.accelerator} "
                        f"--devices {config.devices} --num-nodes {config.num_nodes} --strategy "
                        f"{config.strategy} --precision {config.precision} here: "
                        f"{str(error).splitlines()[0]}") from None
    trainer.fit(method, datamodule=TrainingData(train, batch_size, config.seed))
    return TrainedMethod(method.cpu(), meter, budget, dims, batch_size, engine.summary)


def _score_outputs(outputs: dict[str, torch.Tensor], task: Task, backbones: dict,
                   reference: RealReference, seed: int
                   ) -> tuple[Scores, dict[str, Media]]:
    """Decode a method's embeddings of every target modality (where a backbone decodes
    them: not on precomputed embeddings) and score them; returns the scores and the
    decoded media."""
    decoded = {target: backbones[target].decode(outputs[target])
               for target in task.targets if target in backbones}
    embeddings = {target: outputs[target].numpy() for target in task.targets}
    return score_outputs(task, decoded, embeddings, reference, seed=seed), decoded


GALLERY_ITEMS = 6


def gallery_samples(task: Task, test: MediaSplit | FeatureSplit,
                    generated: dict[str, Media], items: int = GALLERY_ITEMS
                    ) -> dict[str, np.ndarray]:
    """The first ``items`` test items of a task, for a report's sample gallery: each
    source (``source/<modality>``), what the method made (``generated/<modality>``) and
    the real target (``truth/<modality>``). Captions are stored as unicode arrays. A
    dataset of precomputed embeddings has no media to show: no samples."""
    if not isinstance(test, MediaSplit):
        return {}

    def first(media: Media) -> np.ndarray:
        return np.asarray(list(media[:items]) if isinstance(media, list) else media[:items])

    samples = {f"source/{m}": first(test.media(m)) for m in task.sources}
    for target in task.targets:
        samples[f"generated/{target}"] = first(generated[target])
        samples[f"truth/{target}"] = first(test.media(target))
    return samples


@dataclass(frozen=True)
class Sampling:
    """How a task is sampled from a trained method: the test sources, the solver steps and
    the guidance scale (the method's defaults unless the run sets them), and the seed of
    the sampling noise. A round trip (``via`` set) generates the middle modality from the
    sources, then the sources' modality back from that generated middle, both legs with
    the method's own ``generate`` and one noise generator."""

    sources: dict[str, torch.Tensor]
    targets: tuple[str, ...]
    steps: int
    guidance: float | None
    seed: int
    via: str | None = None

    def generate(self, method) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(self.seed)

        def leg(sources: dict[str, torch.Tensor], targets: Sequence[str]
                ) -> dict[str, torch.Tensor]:
            return method.generate(sources, targets, steps=self.steps, guidance=self.guidance,
                                   generator=generator)

        if self.via is None:
            return leg(self.sources, self.targets)
        return leg(leg(self.sources, [self.via]), self.targets)


@dataclass
class Evaluated:
    """One task's evaluation: how it was sampled, the generated row's scores, the reference
    rows, the decoded outputs, the quality-vs-compute curve and what each stage cost."""

    sampling: Sampling
    scores: Scores
    references: ReferenceRows
    decoded: dict[str, Media]
    curve: list[dict]
    nfe: float
    timing: dict[str, float]


def _sampling(config: RunConfig, method, test) -> Sampling:
    return Sampling(
        sources={m: test.embeddings[m] for m in config.task.sources},
        targets=config.task.targets,
        steps=config.sampling_steps or method.default_sampling_steps,
        guidance=config.guidance if config.guidance is not None else method.default_guidance,
        seed=config.seed,
        via=config.task.via,
    )


def require_finite(generated: dict[str, torch.Tensor], config: RunConfig) -> None:
    """A :class:`NonFiniteOutput` when a generated embedding holds NaN or inf: scoring it
    would turn a failed run into numbers (AIS counts NaN as never ranked above: 0)."""
    for modality, embeddings in generated.items():
        count = int((~torch.isfinite(embeddings)).sum())
        if count:
            raise NonFiniteOutput(f"{config.method} generated {count} non-finite values for "
                                  f"{modality} (seed {config.seed}): the run failed")


def _evaluate_task(config: RunConfig, resolved_run: ResolvedRun, trained: TrainedMethod,
                   inputs, evaluators: Evaluators) -> Evaluated:
    """Sample the task, score the outputs (the reference rows beside them), then score
    the checkpoints kept at fractions of the budget. ``timing`` holds each phase's seconds
    and, under ``stages``, the self seconds of every stage timed inside them
    (benchmark/core/stage_clock.py: sampling, decoding per modality, evaluator features,
    each metric, the reference rows, the checkpoints)."""
    task, method, test = config.task, trained.method, inputs.embeddings["test"]
    sampling = _sampling(config, method, test)
    with StageClock() as clock:
        stage(f"sampling {task.name}")
        with timed("sample"):
            generated, nfe = function_evaluations_per_item(method, len(test),
                                                           lambda: sampling.generate(method))
        require_finite(generated, config)

        stage(f"evaluating ({evaluators.kind} evaluators)")
        with timed("evaluate"):
            reference = inputs.real_reference(evaluators, resolved_run.metrics)
            scores, decoded = _score_outputs(generated, task, inputs.backbones, reference,
                                             config.seed)
            if task.single_sources:
                with timed("source_gains"):
                    scores.update(_source_gains(config, method, sampling, inputs, reference,
                                                scores))
            with timed("reference_rows"):
                references = reference_rows(task, config.seed, resolved_run.profile,
                                            config.evaluator, inputs, reference)

        stage("scoring the checkpoints at fractions of the budget (quality vs compute)")
        with timed("checkpoints"):
            curve = _quality_curve(trained, sampling, scores, task, inputs, reference,
                                   config.seed)
    timing = {"sample_s": clock.inclusive("sample"), "eval_s": clock.inclusive("evaluate"),
              "curve_eval_s": clock.inclusive("checkpoints"), "stages": clock.rounded()}
    return Evaluated(sampling, scores, references, decoded, curve, nfe, timing)


def _source_gains(config: RunConfig, method, sampling: Sampling, inputs,
                  reference: RealReference, combined: Scores) -> Scores:
    """A many-to-one task's gain from more sources: its targets generated from each source
    alone by the same method, with the same seed, on the same items, scored (values with
    per-item scores and features, no intervals) and set against ``combined``
    (benchmark/evaluation.py ``score_source_gains``)."""
    task, seed = config.task, config.seed
    singles = {}
    for single in task.single_sources:
        reason = method.refusal(single)
        if reason is not None:
            return Scores(skipped={f"{t}.gain": f"cannot generate {single.name}: {reason}"
                                   for t in task.targets})
        alone = replace(sampling, sources={m: sampling.sources[m] for m in single.sources})
        with timed("sample"):
            generated = alone.generate(method)
        require_finite(generated, config)
        with point_estimates():
            singles[single.sources[0]], _ = _score_outputs(generated, single, inputs.backbones,
                                                           reference, seed)
    return score_source_gains(task, combined, singles, reference, seed)


CURVE_ITEMS = 250
"""Test items the quality-vs-compute checkpoints are scored on: the first 250 (all of them
in a smaller test set). A quarter of the default profile's 1,000 cuts the curve's cost
(3 decodes of every test item, most of an audio run's evaluation) about 3x; every point
of one curve, the final model's included, is scored on the same items, so its values
compare with each other (a Fréchet distance moves with n), not with the record's
``metrics``, which are over every test item."""


def _quality_curve(trained: TrainedMethod, sampling: Sampling, final: Scores, task: Task,
                   inputs, reference: RealReference, seed: int) -> list[dict]:
    """The quality-vs-compute curve: per kept checkpoint, its budget figures and the values
    (no intervals: nothing reads a curve's, and resampling them cost more than the values,
    ``metrics.value.point_estimates``) of what it generates for the first
    :data:`CURVE_ITEMS` test items. With no more test items than that, the final point is
    the final model's scores themselves."""
    items = min(CURVE_ITEMS, len(next(iter(sampling.sources.values()))))
    subset = reference.first(items)
    sources = {m: z[:items] for m, z in sampling.sources.items()}
    on_subset = replace(sampling, sources=sources)
    curve = []
    for checkpoint in trained.meter.checkpoints:
        figures = {k: v for k, v in checkpoint.items() if k != "weights"}
        if subset is reference and checkpoint is trained.meter.checkpoints[-1]:
            values = {name: replace(value, ci_low=None, ci_high=None, details=None)
                      for name, value in final.values.items()}
        else:
            values = _checkpoint_values(checkpoint, trained, on_subset, task, inputs,
                                        subset, seed)
        curve.append({**figures, "metrics": _as_dicts(values)})
    return curve


def _checkpoint_values(checkpoint: dict, trained: TrainedMethod, sampling: Sampling,
                       task: Task, inputs, reference: RealReference, seed: int
                       ) -> dict[str, MetricValue]:
    """The metric values (no intervals) of what the checkpoint's weights generate."""
    snapshot = copy.deepcopy(trained.method)
    snapshot.load_state_dict(checkpoint["weights"])
    with timed("sample"):
        generated = sampling.generate(snapshot)
    with point_estimates():
        scores, _ = _score_outputs(generated, task, inputs.backbones, reference, seed)
    return scores.values


def _parameters(config: RunConfig, resolved_run: ResolvedRun, trained: TrainedMethod
                ) -> dict[str, int | None]:
    """Trainable parameters of this run, what serving its task and the whole suite takes,
    and the same for the method's ``paper`` preset where it has one (None otherwise)."""
    method_cls, method = resolved_run.method_cls, trained.method
    suite = suite_parameter_counts(method_cls, trained.dims, config.preset,
                                   resolved_run.overrides)
    paper = (suite_parameter_counts(method_cls, dict(method_cls.paper_embedding_dims), "paper", {})
             if "paper" in method_cls.presets else {"trainable": None, "serve": None})
    return {
        "trainable": sum(p.numel() for p in method.parameters() if p.requires_grad),
        "serve_task": method.parameter_count([config.task]),
        "serve_suite": suite["serve"],
        "suite_tasks": suite["tasks"],
        "suite_trainable": suite["trainable"],
        "paper_preset_trainable": paper["trainable"],
        "paper_preset_serve_suite": paper["serve"],
    }


def _evaluate(config: RunConfig, resolved_run: ResolvedRun, trained: TrainedMethod, inputs,
              evaluators: Evaluators, run_id: str, training_log: str, area: Staging,
              staged_with: Sequence[str], load_at_start: list[float]) -> tuple[RunRecord, Path]:
    """Sample the task from the trained method, score it, write its record ``run_id`` with
    its per-item scores and gallery samples into the staging ``area`` and publish them,
    the record last, together with the staged ``staged_with`` (the training log folder,
    with a training's first record); ``training_log`` is the training's log file, relative
    to the results folder; ``load_at_start`` the machine's load averages when the run
    started."""
    evaluated = _evaluate_task(config, resolved_run, trained, inputs, evaluators)
    profile, method, meter = resolved_run.profile, trained.method, trained.meter
    scores, references, test = evaluated.scores, evaluated.references, inputs.splits["test"]
    resolved = {
        "run": config.to_dict(),
        "profile": profile.name,
        "dataset": dataset_config(inputs.dataset, inputs.splits),
        "backbones": asdict(profile.backbones),
        "judges": asdict(profile.judges),
        "contrastive_judges": asdict(profile.contrastive),
        "method": asdict(method.config),
    }
    per_sample = {
        f"{row}/{name}": value.per_sample
        for row, values in [("generated", scores.values), ("oracle", references.oracle),
                            ("chance", references.chance), ("real", references.ceilings)]
        for name, value in values.items() if value.per_sample is not None
    }
    per_sample_path = write_per_sample(run_id, per_sample, area.folder)
    features_path, features = write_features(
        run_id, {name: value.features for name, value in scores.values.items()
                 if value.features is not None}, area.folder, area.results_dir)
    samples_path = write_samples(run_id, gallery_samples(config.task, test, evaluated.decoded),
                                 area.folder)
    train_s, items = meter.seconds, len(test)
    record = RunRecord(
        run_id=run_id,
        method=config.method,
        task=config.task.name,
        dataset=f"{inputs.dataset.name}:{profile.name}",
        preset=config.preset,
        seed=config.seed,
        status="ok",
        budget={"kind": trained.budget.kind, "value": trained.budget.value,
                "used": meter.spent(), **meter.figures(), "flops_per_step": meter.flops_per_step,
                "skipped_batches": method.skipped_batches, "batch_size": trained.batch_size,
                "world_size": trained.engine["world_size"],
                "global_batch": trained.batch_size * trained.engine["world_size"]},
        params=_parameters(config, resolved_run, trained),
        timing={
            "train_s": round(train_s, 3),
            **{name: seconds if name == "stages" else round(seconds, 3)
               for name, seconds in evaluated.timing.items()},
            "samples_per_s": round(meter.samples / train_s, 1),
            "train_flops_per_s": round(meter.flops / train_s),
            "sample_ms_per_item": round(1000 * evaluated.timing["sample_s"] / items, 4),
            "nfe_per_item": evaluated.nfe,
            **peak_memory_mb(),
        },
        sampling={"steps": evaluated.sampling.steps, "guidance": evaluated.sampling.guidance,
                  "n": items},
        metrics=_as_dicts(scores.values),
        references={"oracle": _as_dicts(references.oracle),
                    "chance": _as_dicts(references.chance)},
        judges=_as_dicts(references.ceilings),
        skipped_metrics={**scores.skipped, **references.skipped},
        config=resolved,
        provenance=provenance(config_hash(resolved), load_at_start),
        flops=meter.flops,
        per_sample_file=per_sample_path.name,
        samples_file=samples_path.name,
        features_file=features_path.name,
        features=features,
        run_key=config.run_key(),
        curve=evaluated.curve,
        training_log=training_log,
        protocol=config.protocol,
        extra={"single_stage": method.single_stage},
        distributed=trained.engine,
    )
    staged = write_record(record, area.folder)
    return record, area.publish(staged.name, [per_sample_path.name, samples_path.name,
                                              features_path.name, *staged_with])

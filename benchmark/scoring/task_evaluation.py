"""One task's evaluation from a trained method.

:func:`evaluate_task` samples the task's targets from the test sources
(benchmark/scoring/sampling.py), refuses non-finite outputs, decodes and scores them
(benchmark/scoring/evaluation.py) beside the reference rows
(benchmark/scoring/reference_rows.py), adds a many-to-one task's gain over its best single
source, and scores the checkpoints kept along the budget
(benchmark/scoring/quality_curve.py), timing every stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from benchmark.core.config import RunConfig
from benchmark.core.progress import stage
from benchmark.core.stage_clock import StageClock, timed
from benchmark.profiles import Profile
from benchmark.scoring.efficiency import function_evaluations_per_item
from benchmark.scoring.evaluation import RealReference, Scores, score_source_gains
from benchmark.scoring.quality_curve import quality_curve
from benchmark.scoring.reference_rows import ReferenceRows, reference_rows
from benchmark.scoring.sampling import Sampling, require_finite, score_generated, task_sampling
from metrics.evaluators.evaluator_set import (
    Evaluators,
    embedded_evaluators,
    pretrained_evaluators,
)
from metrics.spec import Media, MetricSpec
from metrics.value import point_estimates


def build_evaluators(config: RunConfig, inputs) -> Evaluators:
    """The run's evaluators (embedded judges, or pretrained models from local files)."""
    version = inputs.dataset.version
    if config.evaluator == "pretrained":
        return pretrained_evaluators(inputs.judges, inputs.contrastive_judges, version,
                                     config.weights, inputs.splits["test"].sample_rate)
    return embedded_evaluators(inputs.judges, inputs.contrastive_judges, version)


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


def evaluate_task(config: RunConfig, method, checkpoints: Sequence[dict], inputs,
                  evaluators: Evaluators, metrics: Sequence[MetricSpec] | None,
                  profile: Profile) -> Evaluated:
    """Sample the task, score the outputs (the reference rows beside them), then score
    the checkpoints kept at fractions of the budget. ``timing`` holds each phase's seconds
    and, under ``stages``, the self seconds of every stage timed inside them
    (benchmark/core/stage_clock.py: sampling, decoding per modality, evaluator features,
    each metric, the reference rows, the checkpoints)."""
    task, test = config.task, inputs.embeddings["test"]
    sampling = task_sampling(config, method, test)
    with StageClock() as clock:
        stage(f"sampling {task.name}")
        with timed("sample"):
            generated, nfe = function_evaluations_per_item(method, len(test),
                                                           lambda: sampling.generate(method))
        require_finite(generated, config)

        stage(f"evaluating ({evaluators.kind} evaluators)")
        with timed("evaluate"):
            reference = inputs.real_reference(evaluators, metrics)
            scores, decoded = score_generated(generated, task, inputs.backbones, reference,
                                             config.seed)
            if task.single_sources:
                with timed("source_gains"):
                    scores.update(_source_gains(config, method, sampling, inputs, reference,
                                                scores))
            with timed("reference_rows"):
                references = reference_rows(task, config.seed, profile,
                                            config.evaluator, inputs, reference)

        stage("scoring the checkpoints at fractions of the budget (quality vs compute)")
        with timed("checkpoints"):
            curve = quality_curve(method, checkpoints, sampling, scores, task, inputs, reference,
                                   config.seed)
    timing = {"sample_s": clock.inclusive("sample"), "eval_s": clock.inclusive("evaluate"),
              "curve_eval_s": clock.inclusive("checkpoints"), "stages": clock.rounded()}
    return Evaluated(sampling, scores, references, decoded, curve, nfe, timing)


def _source_gains(config: RunConfig, method, sampling: Sampling, inputs,
                  reference: RealReference, combined: Scores) -> Scores:
    """A many-to-one task's gain from more sources: its targets generated from each source
    alone by the same method, with the same seed, on the same items, scored (values with
    per-item scores and features, no intervals) and set against ``combined``
    (benchmark/scoring/evaluation.py ``score_source_gains``)."""
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
            singles[single.sources[0]], _ = score_generated(generated, single, inputs.backbones,
                                                           reference, seed)
    return score_source_gains(task, combined, singles, reference, seed)

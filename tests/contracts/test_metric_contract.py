"""One contract over every registered metric spec.

Each spec is checked for well-formed fields, then scored by the harness's own loop
(benchmark/scoring/evaluation.py) in a small synthetic world with fake evaluators
(tests/support/metric_world.py): media that encode two attribute labels, an attribute predictor
that reads them back, feature maps and pair encoders made from them, and test embeddings
that carry the labels. A perfect output (the real
media and true embeddings) must score strictly better, in the spec's direction, than a
random one (noise media, random embeddings); a ceiling metric must score real aligned
pairs better than pairs whose target media were shuffled. Its id must name the evaluator
that scored it, and a need the run cannot meet must skip it with a reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.tasks import Task, all_tasks, every_task
from benchmark.report.aggregate import higher_is_better
from benchmark.scoring.evaluation import (
    RealReference,
    Scores,
    evaluator_ceilings,
    metric_specs,
    score_outputs,
    score_target,
)
from metrics import METRICS
from metrics.evaluators.evaluator_set import Evaluator, Evaluators
from metrics.spec import Media, MetricSpec
from support.metric_world import (
    BACKBONE,
    N,
    fake_evaluators,
    features,
    outputs,
    reference,
)
from support.paths import PLUGINS, ROOT

NAMES = METRICS.names()


def _expected_evaluator(spec: MetricSpec, target: Modality, source: Modality | None) -> str:
    if spec.evaluator == "embeddings":
        return BACKBONE
    evaluator = fake_evaluators().lookup(spec.evaluator, target, source)
    assert evaluator is not None, (spec.name, target, source)
    return evaluator.id


def _case(spec: MetricSpec) -> tuple[Modality, Modality]:
    """A (target, source) the spec applies to; for a spec between targets, its first pair
    of targets (a, b)."""
    if spec.between_targets:
        return spec.target_pairs(MODALITIES)[0]
    target = spec.targets[0]
    candidates = spec.sources if spec.per_source else MODALITIES
    return target, next(m for m in candidates if m != target)


def _task(spec: MetricSpec) -> Task:
    """A task the spec is scored in: ``source -> target``, or one source to both targets
    of a pair."""
    first, second = _case(spec)
    if spec.between_targets:
        return Task((next(m for m in MODALITIES if m not in (first, second)),),
                    (first, second))
    return Task((second,), (first,))


def _scored(spec: MetricSpec, kind: str, real: RealReference, with_media: bool = True
            ) -> Scores:
    """The harness's scores against ``real`` of the ``kind`` outputs (in the full synthetic
    world) of every target of the spec's task."""
    task = _task(spec)
    made = {target: outputs(kind, target, reference()) for target in task.targets}
    media = {target: m for target, (m, _) in made.items()} if with_media else {}
    return score_outputs(task, media, {target: z for target, (_, z) in made.items()}, real)


def _better(spec: MetricSpec, perfect: float, random: float) -> bool:
    return perfect > random if spec.higher_is_better else perfect < random


# ------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("name", NAMES)
def test_the_spec_is_well_formed_and_registered_under_its_name(name):
    entry = METRICS.entry(name)
    spec = entry.load()
    assert isinstance(spec, MetricSpec)
    assert spec.name == name
    assert entry.summary is None, "the description lives in the spec alone (ls reads it there)"
    stated = re.search(r"(higher|lower) is better", spec.description)
    if stated:
        assert (stated[1] == "higher") == spec.higher_is_better
    assert higher_is_better(name) == spec.higher_is_better
    assert set(spec.targets) <= set(MODALITIES) and set(spec.sources) <= set(MODALITIES)
    assert spec.rows and spec.rows <= {"outputs", "ceiling"}
    target, source = _case(spec)
    if spec.between_targets:
        assert spec.pairings(target, (source,)) == []
        assert spec.target_pairs((source, target)) == [(target, source)]
    else:
        assert spec.pairings(target, (source,)) == ([source] if spec.per_source else [None])
        assert spec.target_pairs(MODALITIES) == []


@pytest.mark.parametrize("name", NAMES)
def test_a_perfect_output_beats_a_random_one_and_the_id_names_the_evaluator(name):
    spec = METRICS.get(name)
    target, source = _case(spec)
    metric_id = spec.id(_expected_evaluator(spec, target, source), target, source)
    assert metric_id.endswith(f".{name}[{_expected_evaluator(spec, target, source)}]")
    if "outputs" in spec.rows:
        real = reference()
        values = {}
        for kind in ("perfect", "random"):
            scores = _scored(spec, kind, real)
            assert not scores.skipped
            values[kind] = scores.values[metric_id]
        assert values["perfect"].n == N
        assert _better(spec, values["perfect"].value, values["random"].value), values
    task = _task(spec)
    if "ceiling" in spec.rows:
        shuffle = source if spec.between_targets else target
        aligned = evaluator_ceilings(task, reference()).values[metric_id]
        shuffled = evaluator_ceilings(task, reference(shuffled=shuffle)).values[metric_id]
        assert _better(spec, aligned.value, shuffled.value), (aligned, shuffled)
    else:
        assert not any(f".{name}[" in key
                       for key in evaluator_ceilings(task, reference()).values)


@pytest.mark.parametrize("name", NAMES)
def test_an_unmet_need_skips_the_metric_with_a_reason(name):
    spec = METRICS.get(name)
    target, source = _case(spec)
    key = f"{spec.subject_of(target, source)}.{name}"
    none = Evaluators(kind="fake", attributes={}, features={}, pairs={}, captions=None)
    runs = []
    if spec.evaluator != "embeddings":
        runs.append((reference(evaluators=none), True, f"no {spec.evaluator} evaluator"))
    if spec.needs_reference and spec.evaluator == "embeddings":
        runs.append((reference(embeddings=False), True, "no true"))
    if spec.needs_media and "outputs" in spec.rows:
        runs.append((reference(), False, "no decoded"))
    assert runs, f"{name} needs nothing a run can lack"
    for real, with_media, reason in runs:
        task = _task(spec)
        scores = _scored(spec, "perfect", real, with_media)
        if with_media:  # the real media are there, so the ceilings lack the same need
            scores.update(evaluator_ceilings(task, real))
        assert not any(f".{name}[" in metric_id for metric_id in scores.values)
        assert reason in scores.skipped[key]


def test_every_task_is_scored_without_skips_when_the_run_has_everything():
    real = reference()
    for task in every_task():
        made = {target: outputs("perfect", target, real) for target in task.targets}
        scores = score_outputs(task, {t: m for t, (m, _) in made.items()},
                               {t: z for t, (_, z) in made.items()}, real)
        assert not scores.skipped
        assert not evaluator_ceilings(task, real).skipped


def test_ceiling_only_metrics_never_score_outputs():
    real = reference()
    ceiling_only = [name for name in NAMES if METRICS.get(name).rows == {"ceiling"}]
    assert "r_at_1" in ceiling_only
    for task in all_tasks():
        for target in task.targets:
            scores = score_target(target, task.sources, *outputs("perfect", target, real), real)
            assert not [k for k in scores.values for n in ceiling_only if f".{n}[" in k]


def test_metrics_sharing_an_evaluator_share_its_view_of_a_row():
    calls = []

    def counting(modality: Modality, media: Media) -> np.ndarray:
        calls.append(modality)
        return features(modality, media)

    counted = {"image": Evaluator("fake-features:image", counting)}
    real = reference(replace(fake_evaluators(), features=counted))
    for kind in ("perfect", "random"):
        scores = score_target("image", ("text",), *outputs(kind, "image", real), real)
        assert {"image.fid[fake-features:image]", "image.kid[fake-features:image]"} <= set(
            scores.values)
    assert calls == ["image"] * 3  # the real images once, then each row once


def test_a_metric_from_a_file_is_scored_beside_the_registered_ones():
    path = PLUGINS / "exact_match.py"
    specs = metric_specs([f"{path}:EXACT_MATCH"])
    assert [spec.name for spec in specs] == [*NAMES, "exact_match"]
    real = replace(reference(), metrics=specs)
    scores = score_target("image", ("text",), *outputs("perfect", "image", real), real)
    assert scores.values["image.exact_match[fake-judge]"].value == 1.0
    ceilings = evaluator_ceilings(Task(("text",), ("image",)), real).values
    assert ceilings["image.exact_match[fake-judge]"].value == 1.0
    with pytest.raises(UserError, match="scored twice"):
        metric_specs([f"{path}:EXACT_MATCH", f"{path}:EXACT_MATCH"])
    with pytest.raises(UserError, match="not a MetricSpec"):
        metric_specs([f"{path}:exact_match"])


def test_listing_and_loading_the_specs_import_no_torch():
    code = ("import sys; from metrics import METRICS; "
            "descriptions = [e.description for e in METRICS]; "
            "assert 'torch' not in sys.modules, 'listing imported torch'; "
            "specs = [e.load() for e in METRICS]; "
            "assert 'torch' not in sys.modules, 'loading the specs imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

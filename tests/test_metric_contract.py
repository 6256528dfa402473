"""One contract over every registered metric spec.

Each spec is checked for well-formed fields, then scored by the harness's own loop
(benchmark/evaluation.py) in a small synthetic world with fake evaluators: media that
encode two attribute labels, an attribute predictor that reads them back, feature maps and
pair encoders made from them, and random test embeddings. A perfect output (the real
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
from pathlib import Path

import numpy as np
import pytest

from benchmark.core.errors import UserError
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import MODALITIES, Modality
from benchmark.core.tasks import Task, all_tasks
from benchmark.evaluation import (
    RealReference,
    evaluator_ceilings,
    metric_specs,
    score_target,
)
from benchmark.report.aggregate import higher_is_better
from metrics import METRICS
from metrics.evaluators.evaluator_set import Evaluator, Evaluators
from metrics.spec import Media, MetricSpec

N = 48
VALUES = 4  # two attributes, each 0..3
BACKBONE = "fake-backbone"
REPOSITORY = Path(__file__).resolve().parent.parent
NAMES = METRICS.names()


# ------------------------------------------------------------------ a synthetic world


def _render(modality: Modality, labels: np.ndarray, rng: np.random.Generator) -> Media:
    """Media that show ``labels [N, 2]``: image colour, audio amplitude, caption words."""
    if modality == "image":
        image = np.empty((len(labels), 4, 4, 3), dtype=np.uint8)
        image[..., 0] = (60 * labels[:, 0] + 10)[:, None, None]
        image[..., 1] = (60 * labels[:, 1] + 10)[:, None, None]
        image[..., 2] = rng.integers(0, 20, (len(labels), 4, 4))
        return image
    if modality == "audio":
        audio = 0.01 * rng.standard_normal((len(labels), 32)).astype(np.float32)
        audio[:, :2] = labels / VALUES
        return audio
    return [f"a colour{a} thing with shape{b} here" for a, b in labels]


def _noise(modality: Modality, rng: np.random.Generator) -> Media:
    """Random outputs: noise images and audio, captions of random words."""
    if modality == "image":
        return rng.integers(0, 256, (N, 4, 4, 3), dtype=np.uint8)
    if modality == "audio":
        return rng.uniform(-1, 1, (N, 32)).astype(np.float32)
    words = ["red", "square", "loud", "big", "thing", "left", "noise", "here"]
    return [" ".join(rng.choice(words, 6)) for _ in range(N)]


def _read_labels(modality: Modality, media: Media) -> np.ndarray:
    """The fake attribute predictor: the labels media show, clipped into range."""
    if modality == "image":
        labels = np.rint((np.asarray(media)[:, 0, 0, :2].astype(float) - 10) / 60)
    elif modality == "audio":
        labels = np.rint(np.asarray(media)[:, :2] * VALUES)
    else:
        found = [re.search(r"colour(\d) thing with shape(\d)", caption) for caption in media]
        labels = np.array([[int(m[1]), int(m[2])] if m else [0, 0] for m in found])
    return np.clip(labels, 0, VALUES - 1).astype(np.int64)


def _pair_encoding(modality: Modality, media: Media) -> np.ndarray:
    """The fake pair encoder: unit one-hot codes of the labels media show."""
    labels = _read_labels(modality, media)
    code = np.concatenate([np.eye(VALUES)[labels[:, 0]], np.eye(VALUES)[labels[:, 1]]], axis=1)
    return code / np.linalg.norm(code, axis=1, keepdims=True)


_PROJECTION = np.random.default_rng(7).standard_normal((32, 6))


def _features(modality: Modality, media: Media) -> np.ndarray:
    """The fake feature extractor: a fixed projection of the first 32 values, in 0..1."""
    flat = np.asarray(media, dtype=np.float64).reshape(len(media), -1)[:, :32]
    return (flat / 255.0 if modality == "image" else flat) @ _PROJECTION


def fake_evaluators() -> Evaluators:
    return Evaluators(
        kind="fake",
        attributes={m: Evaluator("fake-judge", _read_labels) for m in MODALITIES},
        features={m: Evaluator(f"fake-features:{m}", _features) for m in ("image", "audio")},
        pairs={frozenset({a, b}): Evaluator(f"fake-pair:{a}-{b}", _pair_encoding)
               for i, a in enumerate(MODALITIES) for b in MODALITIES[i + 1:]},
        captions=Evaluator("fake-captions", lambda modality, captions: list(captions)),
    )


def _expected_evaluator(spec: MetricSpec, target: Modality, source: Modality | None) -> str:
    if spec.evaluator == "embeddings":
        return BACKBONE
    evaluator = fake_evaluators().lookup(spec.evaluator, target, source)
    assert evaluator is not None, (spec.name, target, source)
    return evaluator.id


def reference(evaluators: Evaluators | None = None, shuffled: Modality | None = None,
              embeddings: bool = True) -> RealReference:
    """The synthetic test split; with ``shuffled`` that modality's media are permuted, so
    real pairs no longer match (for ceilings)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, VALUES, (N, 2))
    media = {m: _render(m, labels, rng) for m in MODALITIES}
    if shuffled is not None:
        order = rng.permutation(N)
        items = media[shuffled]
        media[shuffled] = [items[i] for i in order] if shuffled == "text" else items[order]
    test = MediaSplit(
        attributes=labels, present=np.ones((N, 3), dtype=bool), captions=media["text"],
        images=media["image"], audio=media["audio"], attribute_names=("colour", "shape"),
        attribute_sizes=(VALUES, VALUES), sample_rate=8_000,
    )
    true = {m: rng.standard_normal((N, 8)) for m in MODALITIES} if embeddings else {}
    return RealReference(test=test, embeddings=true,
                         evaluators=evaluators or fake_evaluators(), embedding_evaluator=BACKBONE)


def _case(spec: MetricSpec) -> tuple[Modality, Modality]:
    """A (target, source) the spec applies to."""
    target = spec.targets[0]
    candidates = spec.sources if spec.per_source else MODALITIES
    return target, next(m for m in candidates if m != target)


def _outputs(kind: str, target: Modality, real: RealReference) -> tuple[Media, np.ndarray]:
    if kind == "perfect":
        return real.test.media(target), real.embeddings[target]
    rng = np.random.default_rng(1)
    return _noise(target, rng), rng.standard_normal((N, 8))


def _better(spec: MetricSpec, perfect: float, random: float) -> bool:
    return perfect > random if spec.higher_is_better else perfect < random


# ------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("name", NAMES)
def test_the_spec_is_well_formed_and_registered_under_its_name(name):
    entry = METRICS.entry(name)
    spec = entry.load()
    assert isinstance(spec, MetricSpec)
    assert spec.name == name
    assert spec.description == entry.description, "the registration line repeats the spec's"
    stated = re.search(r"(higher|lower) is better", spec.description)
    if stated:
        assert (stated[1] == "higher") == spec.higher_is_better
    assert higher_is_better(name) == spec.higher_is_better
    assert set(spec.targets) <= set(MODALITIES) and set(spec.sources) <= set(MODALITIES)
    assert spec.rows and spec.rows <= {"outputs", "ceiling"}
    target, source = _case(spec)
    assert spec.pairings(target, (source,)) == ([source] if spec.per_source else [None])


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
            scores = score_target(target, (source,), *_outputs(kind, target, real), real)
            assert not scores.skipped
            values[kind] = scores.values[metric_id]
        assert values["perfect"].n == N
        assert _better(spec, values["perfect"].value, values["random"].value), values
    if "ceiling" in spec.rows:
        task = Task((source,), (target,))
        aligned = evaluator_ceilings(task, reference()).values[metric_id]
        shuffled = evaluator_ceilings(task, reference(shuffled=target)).values[metric_id]
        assert _better(spec, aligned.value, shuffled.value), (aligned, shuffled)
    else:
        assert not any(f".{name}[" in key
                       for key in evaluator_ceilings(Task((source,), (target,)),
                                                     reference()).values)


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
        task = Task((source,), (target,))
        media, embeddings = _outputs("perfect", target, reference())
        scores = score_target(target, task.sources, media if with_media else None, embeddings,
                              real)
        if with_media:  # the real media are there, so the ceilings lack the same need
            scores.update(evaluator_ceilings(task, real))
        assert not any(f".{name}[" in metric_id for metric_id in scores.values)
        assert reason in scores.skipped[key]


def test_every_task_is_scored_without_skips_when_the_run_has_everything():
    real = reference()
    for task in all_tasks():
        for target in task.targets:
            media, embeddings = _outputs("perfect", target, real)
            assert not score_target(target, task.sources, media, embeddings, real).skipped
        assert not evaluator_ceilings(task, real).skipped


def test_ceiling_only_metrics_never_score_outputs():
    real = reference()
    ceiling_only = [name for name in NAMES if METRICS.get(name).rows == {"ceiling"}]
    assert "r_at_1" in ceiling_only
    for task in all_tasks():
        for target in task.targets:
            scores = score_target(target, task.sources, *_outputs("perfect", target, real), real)
            assert not [k for k in scores.values for n in ceiling_only if f".{n}[" in k]


def test_metrics_sharing_an_evaluator_share_its_view_of_a_row():
    calls = []

    def counting(modality: Modality, media: Media) -> np.ndarray:
        calls.append(modality)
        return _features(modality, media)

    features = {"image": Evaluator("fake-features:image", counting)}
    real = reference(replace(fake_evaluators(), features=features))
    for kind in ("perfect", "random"):
        scores = score_target("image", ("text",), *_outputs(kind, "image", real), real)
        assert {"image.fid[fake-features:image]", "image.kid[fake-features:image]"} <= set(
            scores.values)
    assert calls == ["image"] * 3  # the real images once, then each row once


EXACT_MATCH = '''"""Exact match: the share of items whose every attribute the judge reads back."""
import numpy as np

from metrics.spec import OUTPUTS_AND_CEILING, MetricInputs, MetricSpec
from metrics.value import MetricValue, mean_with_bootstrap


def exact_match(inputs: MetricInputs) -> MetricValue:
    """s_i = 1[p_i = a_i] (all A attributes right); their mean, with a bootstrap CI."""
    hits = (np.asarray(inputs.output) == inputs.labels).all(axis=1).astype(float)
    return mean_with_bootstrap(hits, seed=inputs.seed)


EXACT_MATCH = MetricSpec(
    name="exact_match", description="share of items with every attribute right "
    "(higher is better)", higher_is_better=True, targets=("text", "image", "audio"),
    evaluator="attributes", compute=exact_match, needs_labels=True, needs_reference=False,
    rows=OUTPUTS_AND_CEILING,
)
'''


def test_a_metric_from_a_file_is_scored_beside_the_registered_ones(tmp_path):
    path = tmp_path / "exact_match.py"
    path.write_text(EXACT_MATCH)
    specs = metric_specs([f"{path}:EXACT_MATCH"])
    assert [spec.name for spec in specs] == [*NAMES, "exact_match"]
    real = replace(reference(), metrics=specs)
    scores = score_target("image", ("text",), *_outputs("perfect", "image", real), real)
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
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPOSITORY)

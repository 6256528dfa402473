"""Score what a method generated for one task: a loop over the registered metric specs.

For a target modality t generated from sources S, with decoded media x_hat and the
method's embeddings z_hat of the N test items, the embedded benchmark's specs give

    t.attr_acc[judge]      does x_hat_i show item i's latent attributes?        (per item)
    t.attr_acc_<c>[judge]  the same, per label column c                         (per item)
    quality                image: fid, kid; audio: fad (generated vs real test media
                           features, equal n); text: cider_d, bleu4 against the item's
                           reference caption                                      (set / per item)
    alignment, per s in S  clip (text-image), clap (text-audio), ais (image-audio)
                           between x_hat_i and the real source item s_i           (per item)
    t.emb_fd, t.emb_cos,   z_hat against the true embeddings z, no decoder        (set / per item)
    t.emb_r_at_1

Every spec registered in ``metrics.METRICS`` (and any extra one the run names) that
applies to t (and s) is scored by the rule of metrics/spec.py; one whose needs the run
cannot meet (no decoded media, no labels, no real reference, no evaluator for t or the
pair) is skipped, and the reason is kept under ``{subject}.{metric}``. The same loop
scores the generated, oracle and chance rows and the evaluators' ceilings on real media,
so every number has its references. A dataset of precomputed embeddings has no media at
all: only the decoder-free metrics (emb_*) apply, and the rest are skipped saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from benchmark.core.errors import UserError
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import Modality
from benchmark.core.stage_clock import timed
from benchmark.core.tasks import Task
from metrics import METRICS
from metrics.evaluators.evaluator_set import Evaluator, Evaluators
from metrics.spec import Media, MetricInputs, MetricSpec, Row
from metrics.value import MetricValue


@dataclass
class Scores:
    """Metric values by id, and the metrics skipped by ``{subject}.{metric}``, with why."""

    values: dict[str, MetricValue] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def update(self, other: Scores) -> None:
        self.values.update(other.values)
        self.skipped.update(other.skipped)


def metric_specs(extra: Sequence[str] = ()) -> list[MetricSpec]:
    """Every registered metric spec (built-in, then installed entry points) in registration
    order, then the ``extra`` ones, each named as ``path/to/file.py:NAME`` or by an entry
    point; a name scored twice is a UserError."""
    specs = [entry.load() for entry in METRICS]
    for name in extra:
        spec = METRICS.get(name)
        if not isinstance(spec, MetricSpec):
            raise UserError(f"metric '{name}' is a {type(spec).__name__}, not a MetricSpec "
                            "(metrics/spec.py)")
        specs.append(spec)
    names = [spec.name for spec in specs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UserError(f"metric {', '.join(twice)} would be scored twice: give each extra "
                        "metric a name no other metric has")
    return specs


@dataclass
class RealReference:
    """The real test items that generated outputs are compared with.

    ``test`` is the real test media, None for a dataset of precomputed embeddings;
    ``embeddings`` are the true test embeddings (the backbones' space, or the dataset's
    own, named by ``embedding_evaluator``); ``metrics`` are the specs the run scores (every
    registered one by default, see :func:`metric_specs`). ``labels`` are the test items'
    label rows ``int [N, A]`` with their column names ``label_names``; when not given they
    are ``test``'s attributes. With no label column, ``labels`` is None and ``label_names``
    empty. What an evaluator makes of real media is computed once per (role, evaluator,
    pair, modality) and reused across the generated, oracle and chance rows and the
    ceilings.
    """

    test: MediaSplit | None
    embeddings: dict[Modality, np.ndarray]
    evaluators: Evaluators
    embedding_evaluator: str
    metrics: Sequence[MetricSpec] = field(default_factory=metric_specs)
    labels: np.ndarray | None = None
    label_names: tuple[str, ...] = ()
    _views: dict[tuple, Media] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.labels is None and self.test is not None:
            self.labels, self.label_names = self.test.attributes, self.test.attribute_names
        self.label_names = tuple(self.label_names)
        if not self.label_names:
            self.labels = None
        elif self.labels is None or np.shape(self.labels)[1:] != (len(self.label_names),):
            raise ValueError(f"labels must be [N, {len(self.label_names)}], one column per "
                             f"label name {self.label_names}")

    def has_media(self, modality: Modality) -> bool:
        """Whether every test item holds real media of ``modality``."""
        return self.test is not None and bool(self.test.has(modality).all())

    def media(self, modality: Modality) -> Media | None:
        """The real test media of ``modality``, or None unless every test item holds it."""
        return self.test.media(modality) if self.has_media(modality) else None

    def no_media(self, modality: Modality) -> str:
        """Why there are no real ``modality`` media to score against."""
        if self.test is None:
            return f"no real {modality} media: the dataset holds precomputed embeddings"
        return f"no real {modality} media for every test item"

    def first(self, items: int) -> RealReference:
        """The reference of the first ``items`` test items alone (itself when that is all of
        them), with the same evaluators and metric specs and views of its own."""
        if items < 1:
            raise ValueError(f"a reference needs at least one test item, not {items}")
        if items >= len(next(iter(self.embeddings.values()))):
            return self
        return RealReference(
            test=None if self.test is None else self.test.subset(np.arange(items)),
            embeddings={m: z[:items] for m, z in self.embeddings.items()},
            evaluators=self.evaluators,
            embedding_evaluator=self.embedding_evaluator,
            metrics=self.metrics,
            labels=None if self.labels is None else self.labels[:items],
            label_names=self.label_names,
        )

    def view(self, key: tuple, modality: Modality, make: Callable[[Media], Media]) -> Media:
        """``make(real media of modality)``, memoized under ``key``; the caller has checked
        :meth:`has_media`."""
        if key not in self._views:
            real = self.media(modality)
            if real is None:
                raise ValueError(self.no_media(modality))
            self._views[key] = make(real)
        return self._views[key]


def score_target(target: Modality, sources: Sequence[Modality], media: Media | None,
                 embeddings: np.ndarray | None, reference: RealReference,
                 seed: int = 0) -> Scores:
    """Every applicable metric of one target modality for one row of outputs: its decoded
    ``media`` (None when nothing decodes) and the ``embeddings`` they were decoded from."""
    return _score("outputs", target, sources, media, embeddings, reference, seed)


def evaluator_ceilings(task: Task, reference: RealReference, seed: int = 0) -> Scores:
    """What a perfect generator would score: the ceiling-row metrics of the task on the
    real test media themselves (attribute accuracy, alignment with the real sources) and
    each pair evaluator's retrieval R@1 (source -> target) on real test pairs."""
    scores = Scores()
    for target in task.targets:
        media = reference.media(target)
        scores.update(_score("ceiling", target, task.sources, media, None, reference, seed))
    return scores


def _score(row: Row, target: Modality, sources: Sequence[Modality], media: Media | None,
           embeddings: np.ndarray | None, reference: RealReference, seed: int) -> Scores:
    scores = Scores()
    seen: dict[tuple, Media] = {}  # the row under each evaluator, shared by its metrics
    for spec in reference.metrics:
        if row not in spec.rows:
            continue
        for source in spec.pairings(target, sources):
            evaluator = _evaluator(spec, target, source, reference)
            reason = _unmet_need(spec, row, target, source, media, evaluator, reference)
            if reason is not None:
                scores.skipped[f"{spec.subject_of(target, source)}.{spec.name}"] = reason
                continue
            inputs = MetricInputs(
                output=_output(spec, row, evaluator, target, source, media, embeddings,
                               reference, seen),
                reference=(_reference(spec, evaluator, target, source, reference)
                           if spec.needs_reference else None),
                labels=reference.labels if spec.needs_labels else None,
                seed=seed,
                label_names=reference.label_names if spec.needs_labels else (),
            )
            with timed(f"metric/{spec.name}"):
                scores.values[spec.id(evaluator.id, target, source)] = spec.compute(inputs)
                if spec.breakdown is not None:
                    scores.values.update(_parts(spec, evaluator, target, source, inputs))
    return scores


def _parts(spec: MetricSpec, evaluator: Evaluator, target: Modality,
           source: Modality | None, inputs: MetricInputs) -> dict[str, MetricValue]:
    """The values of the spec's breakdown by id; two parts that read the same in an id
    are a ValueError."""
    parts = spec.breakdown(inputs)
    values = {spec.id(evaluator.id, target, source, part): value
              for part, value in parts.items()}
    if len(values) < len(parts):
        raise ValueError(f"metric '{spec.name}': parts {sorted(parts)} do not all read "
                         "differently in metric ids ([a-z0-9_])")
    return values


def _evaluator(spec: MetricSpec, target: Modality, source: Modality | None,
               reference: RealReference) -> Evaluator | None:
    """The spec's evaluator: the backbones' space for the embeddings role, else the run's
    evaluator of the spec's role for the target (or the pair)."""
    if spec.evaluator == "embeddings":
        return Evaluator(reference.embedding_evaluator, _as_embedded)
    return reference.evaluators.lookup(spec.evaluator, target, source)


def _as_embedded(modality: Modality, embeddings: np.ndarray) -> np.ndarray:
    """The backbones' space sees embeddings as they are."""
    return embeddings


def _unmet_need(spec: MetricSpec, row: Row, target: Modality, source: Modality | None,
                media: Media | None, evaluator: Evaluator | None,
                reference: RealReference) -> str | None:
    """Why the spec cannot be scored here, or None when everything it needs is there."""
    if spec.needs_media and media is None:
        if row == "ceiling":
            return reference.no_media(target)
        if reference.test is None:
            return (f"no decoded {target} media: the dataset holds precomputed embeddings, "
                    "nothing decodes them")
        return f"no decoded {target} media: nothing decodes {target} embeddings"
    if spec.needs_labels and reference.labels is None:
        return "the test items have no attribute labels"
    if spec.needs_reference:
        if spec.evaluator == "embeddings":
            if target not in reference.embeddings:
                return f"no true {target} embeddings of the test items"
        elif not reference.has_media(source or target):
            return reference.no_media(source or target)
    if evaluator is None:
        needed = f"{source}-{target} pair" if spec.per_source else target
        missing = (f"the {reference.evaluators.kind} evaluators have no {spec.evaluator} "
                   f"evaluator for the {needed}")
        gap = reference.evaluators.gap(spec.evaluator, target, source)
        return missing if gap is None else f"{missing}: {gap}"
    return None


def _output(spec: MetricSpec, row: Row, evaluator: Evaluator, target: Modality,
            source: Modality | None, media: Media | None, embeddings: np.ndarray | None,
            reference: RealReference, seen: dict[tuple, Media]) -> Media:
    """The scored row as the spec's evaluator sees it, computed once per row and evaluator
    (fid and kid share the image features); on the ceiling row (real media) it is memoized
    with the real reference views."""
    if spec.evaluator == "embeddings":
        return evaluator.apply(target, embeddings)
    key = (spec.evaluator, evaluator.id, _pair(source, target), target)
    if row == "ceiling":
        return reference.view(key, target, lambda real: _features(evaluator, spec, target, real))
    if key not in seen:
        seen[key] = _features(evaluator, spec, target, media)
    return seen[key]


def _features(evaluator: Evaluator, spec: MetricSpec, modality: Modality, media: Media
              ) -> Media:
    """What the spec's evaluator makes of ``media`` (timed as ``features/<role>/<modality>``)."""
    with timed(f"features/{spec.evaluator}/{modality}"):
        return evaluator.apply(modality, media)


def _reference(spec: MetricSpec, evaluator: Evaluator, target: Modality,
               source: Modality | None, reference: RealReference) -> Media:
    """The real reference as the spec's evaluator sees it: true target embeddings, the real
    source media under a pair encoder, or the real target media."""
    if spec.evaluator == "embeddings":
        return evaluator.apply(target, reference.embeddings[target])
    modality = source or target
    key = (spec.evaluator, evaluator.id, _pair(source, target), modality)
    return reference.view(key, modality, lambda real: _features(evaluator, spec, modality, real))


def _pair(source: Modality | None, target: Modality) -> frozenset[Modality] | None:
    """One evaluator id may hold a different encoder per pair (the contrastive judges
    do), so a pair encoder's views are kept per pair."""
    return None if source is None else frozenset({source, target})

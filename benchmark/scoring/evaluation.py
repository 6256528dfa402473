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
    t.gain_<m>             many-to-one: metric m from every source together against the
                           best single source, same method and items (metrics/source_gain.py)
    coherence, per pair    a one-to-many task's generated targets a, b against each other:
    a~b of targets         coherence, coherence_rank (the pair's evaluator), attr_agree
                           (the judges), emb_coherence (no decoder; metrics/coherence.py)
                                                                                  (per item)

Every spec registered in ``metrics.METRICS`` (and any extra one the run names) that
applies to t (and s, or to the pair of targets) is scored by the rule of metrics/spec.py;
one whose needs the run cannot meet (no decoded media, no labels, no real reference, no
evaluator for t or the pair) is skipped, and the reason is kept under
``{subject}.{metric}``. The same loop scores the generated, oracle and chance rows and
the evaluators' ceilings on real media, so every number has its references. A dataset of
precomputed embeddings has no media at all: only the decoder-free metrics (emb_*) apply,
and the rest are skipped saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from benchmark.core.errors import UserError
from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import Modality
from benchmark.core.stage_clock import timed
from benchmark.core.tasks import Task
from metrics import METRICS
from metrics.evaluators.evaluator_set import Evaluator, Evaluators
from metrics.source_gain import NoGain, source_gain
from metrics.spec import Media, MetricInputs, MetricSpec, Row, metric_id, parse_metric_id
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
    return _score("outputs", target, sources, media, embeddings, reference, seed, {})


def score_outputs(task: Task, media: Mapping[Modality, Media | None],
                  embeddings: Mapping[Modality, np.ndarray], reference: RealReference,
                  seed: int = 0) -> Scores:
    """Every applicable metric of one row of a task's outputs: each target's own (its
    decoded ``media[target]``, None or absent when nothing decodes, and the
    ``embeddings[target]`` they were decoded from), then those between its targets.
    What an evaluator makes of a target's outputs is computed once for both."""
    scores = Scores()
    seen: dict[tuple, Media] = {}
    for target in task.targets:
        scores.update(_score("outputs", target, task.sources, media.get(target),
                             embeddings[target], reference, seed, seen))
    scores.update(_score_together("outputs", task.targets, media, embeddings, reference,
                                  seed, seen))
    return scores


def evaluator_ceilings(task: Task, reference: RealReference, seed: int = 0) -> Scores:
    """What a perfect generator would score: the ceiling-row metrics of the task on the
    real test media themselves (attribute accuracy, alignment with the real sources, the
    real pair's coherence) and each pair evaluator's retrieval R@1 (source -> target) on
    real test pairs."""
    scores = Scores()
    real = {target: reference.media(target) for target in task.targets}
    for target in task.targets:
        scores.update(_score("ceiling", target, task.sources, real[target], None, reference,
                             seed, {}))
    scores.update(_score_together("ceiling", task.targets, real, {}, reference, seed, {}))
    return scores


def score_source_gains(task: Task, combined: Scores, singles: Mapping[Modality, Scores],
                       reference: RealReference, seed: int = 0) -> Scores:
    """A many-to-one task's gain from more sources (metrics/source_gain.py) on each of its
    targets' own metrics: ``combined`` scores the outputs from every source together,
    ``singles[s]`` those from source s alone, on the same items; the gain of metric
    ``{t}.{m}[E]`` is kept as ``{t}.gain_{m}[E]``."""
    own = {spec.name: spec for spec in reference.metrics
           if spec.subject == "target" and not spec.per_source}
    scores = Scores()
    for metric, value in combined.values.items():
        subject, name, evaluator = parse_metric_id(metric)
        if subject not in task.targets or name not in own:
            continue
        gain_name = f"{subject}.gain_{name}"
        lacking = [source for source, single in singles.items() if metric not in single.values]
        if lacking:
            scores.skipped[gain_name] = f"not scored from {lacking[0]} alone"
            continue
        try:
            scores.values[metric_id(subject, f"gain_{name}", evaluator)] = source_gain(
                own[name], value, {s: single.values[metric] for s, single in singles.items()},
                seed=seed)
        except NoGain as reason:
            scores.skipped[gain_name] = str(reason)
    return scores


def _score(row: Row, target: Modality, sources: Sequence[Modality], media: Media | None,
           embeddings: np.ndarray | None, reference: RealReference, seed: int,
           seen: dict[tuple, Media]) -> Scores:
    """The target's own metrics; ``seen`` holds the row under each evaluator, shared by
    its metrics (and by those between targets)."""
    scores = Scores()
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


def _score_together(row: Row, targets: Sequence[Modality],
                    media: Mapping[Modality, Media | None],
                    embeddings: Mapping[Modality, np.ndarray], reference: RealReference,
                    seed: int, seen: dict[tuple, Media]) -> Scores:
    """The metrics between each pair of targets (metrics/spec.py, ``subject="targets"``):
    target a's outputs as ``output``, target b's as ``reference``."""
    scores = Scores()
    for spec in reference.metrics:
        if row not in spec.rows:
            continue
        for a, b in spec.target_pairs(targets):
            pair = _evaluators_of_pair(spec, a, b, reference)
            reason = _unmet_together(spec, row, (a, b), media, pair, reference)
            if reason is not None:
                scores.skipped[f"{spec.subject_of(a, b)}.{spec.name}"] = reason
                continue
            views = [_view_of_target(spec, row, evaluator, target, other, media, embeddings,
                                     reference, seen)
                     for evaluator, target, other in ((pair[0], a, b), (pair[1], b, a))]
            inputs = MetricInputs(
                output=views[0], reference=views[1],
                labels=reference.labels if spec.needs_labels else None, seed=seed,
                label_names=reference.label_names if spec.needs_labels else (),
            )
            ids = dict.fromkeys(evaluator.id for evaluator in pair)
            with timed(f"metric/{spec.name}"):
                scores.values[spec.id("+".join(ids), a, b)] = spec.compute(inputs)
    return scores


def _evaluators_of_pair(spec: MetricSpec, a: Modality, b: Modality,
                        reference: RealReference) -> tuple[Evaluator | None, Evaluator | None]:
    """The evaluators that see targets a and b: the pair encoder of (a, b) for both, each
    target's attribute judge, or the similarity profile over the true test embeddings."""
    if spec.evaluator == "embeddings":
        profile = Evaluator(reference.embedding_evaluator,
                            lambda modality, z: _similarity_profile(z, reference, modality))
        return profile, profile
    if spec.evaluator == "pair":
        encoder = reference.evaluators.lookup("pair", b, a)
        return encoder, encoder
    return (reference.evaluators.lookup(spec.evaluator, a),
            reference.evaluators.lookup(spec.evaluator, b))


def _similarity_profile(embeddings: np.ndarray, reference: RealReference,
                        modality: Modality) -> np.ndarray:
    """``float32 [N, N']``: the cosine of each row of ``embeddings`` with each true test
    embedding of ``modality`` (metrics/spec.py, role embeddings between targets)."""
    def unit(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float32)
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    return unit(embeddings) @ unit(reference.embeddings[modality]).T


def _unmet_together(spec: MetricSpec, row: Row, pair: tuple[Modality, Modality],
                    media: Mapping[Modality, Media | None],
                    evaluators: tuple[Evaluator | None, Evaluator | None],
                    reference: RealReference) -> str | None:
    """Why the metric between the two targets cannot be scored, or None."""
    for target, evaluator in zip(pair, evaluators, strict=True):
        if spec.needs_media and media.get(target) is None:
            return _unmet_need(spec, row, target, None, None, evaluator, reference)
        if spec.evaluator == "embeddings" and target not in reference.embeddings:
            return f"no true {target} embeddings of the test items"
    if spec.needs_labels and reference.labels is None:
        return "the test items have no attribute labels"
    for target, evaluator in zip(pair, evaluators, strict=True):
        if evaluator is None:
            if spec.evaluator == "pair":  # the a-b pair's encoder
                return _no_evaluator(spec, pair[1], pair[0], reference)
            return _no_evaluator(spec, target, None, reference)
    return None


def _view_of_target(spec: MetricSpec, row: Row, evaluator: Evaluator, target: Modality,
                    other: Modality, media: Mapping[Modality, Media | None],
                    embeddings: Mapping[Modality, np.ndarray], reference: RealReference,
                    seen: dict[tuple, Media]) -> Media:
    """One target of a pair as the spec's evaluator sees it, computed once per row and
    evaluator (shared with the target's own metrics under the same key)."""
    if spec.evaluator == "embeddings":
        key = ("profile", evaluator.id, None, target)
        if key not in seen:
            seen[key] = evaluator.apply(target, embeddings[target])
        return seen[key]
    source = other if spec.evaluator == "pair" else None
    key = (spec.evaluator, evaluator.id, _pair(source, target), target)
    if row == "ceiling":
        return reference.view(key, target, lambda real: _features(evaluator, spec, target, real))
    if key not in seen:
        seen[key] = _features(evaluator, spec, target, media[target])
    return seen[key]


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
        return _no_evaluator(spec, target, source, reference)
    return None


def _no_evaluator(spec: MetricSpec, target: Modality, source: Modality | None,
                  reference: RealReference) -> str:
    """Why the spec's evaluator role has nothing for ``target`` (with ``source``: for the
    pair of the two), with the evaluators' own reason where they know one."""
    needed = f"{source}-{target} pair" if source is not None else target
    missing = (f"the {reference.evaluators.kind} evaluators have no {spec.evaluator} "
               f"evaluator for the {needed}")
    gap = reference.evaluators.gap(spec.evaluator, target, source)
    return missing if gap is None else f"{missing}: {gap}"


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

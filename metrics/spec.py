"""A metric as the harness sees it: a pure function plus a spec of when and on what it runs.

Each metric family module (fid.py, fad.py, captioning.py, alignment.py,
attribute_accuracy.py, embedding_space.py) defines its :class:`MetricSpec` objects next to
its functions, and metrics/__init__.py registers each under its name. The harness
(benchmark/scoring/evaluation.py) scores a row of outputs of target modality t, for every
registered spec that applies to t (and, for a per-source spec, to each source s of the
task), by one rule:

1. resolve the spec's evaluator E among the run's evaluators by its role (below); E names
   the id's evaluator part;
2. if the run lacks something the spec needs (decoded media, labels, the real reference
   set, an evaluator for t or the pair (s, t)), skip it and record why;
3. call ``spec.compute(MetricInputs(output, reference, labels, seed, label_names))``, and
   ``spec.breakdown`` on the same inputs when the spec has one (below).

What ``output`` and ``reference`` hold, by evaluator role:

    role        E is                          output                 reference
    attributes  t's attribute predictor       predicted attributes   (none: labels)
                                              [N, A] of the outputs
    features    t's feature extractor         features [N, F] of     features [N', F] of
                                              the outputs            the real t media
    captions    the caption scorer            the output captions    the real captions
    pair        the (s, t) pair encoder       unit embeddings of     unit embeddings of
                                              the outputs [N, E]     the real s media [N, E]
    embeddings  the backbones' space          output embeddings      true t embeddings
                                              [N, D] (no decoder)    [N, D]

A spec with ``subject="targets"`` scores the *generated targets of one call against each
other* (joint coherence of a one-to-many task), once per unordered pair {a, b} of the
task's targets among its ``targets`` (in canonical modality order), instead of each target
against its own reference. ``output`` is target a's outputs and ``reference`` target b's
outputs of the same row (the generated pair, the oracle's, the chance row's, or the real
pair on the ceiling row), both as the evaluator sees them:

    role        E is                          output / reference
    pair        the (a, b) pair encoder       unit embeddings of a's / b's outputs [N, E]
    attributes  a's and b's attribute judges  predicted attributes [N, A] of a's / b's
    embeddings  the backbones' space          each output's cosine similarity profile over
                                              the true test embeddings of its own modality,
                                              [N, N']: row i is cos(z_hat_i, z_j), j = 1..N'
                                              (what makes two modalities' spaces comparable)

``labels`` are the test items' attribute rows ``int [N, A]``, one column per name in
``label_names``; a spec that needs labels is skipped when the dataset has no label column.
The label ``-1`` (:data:`UNKNOWN`) means unknown, in labels and in predicted attributes
alike (a judge predicts it for a column it had no training label for); metrics leave it
out. The rows a spec scores are ``outputs`` (the generated, oracle and chance rows) and
``ceiling`` (the real test media of t in place of outputs: what a perfect generator
scores). Ids read ``{subject}.{name}[{evaluator id}]``, the subject being t, ``{s}2{t}``
for ``subject="direction"``, or ``{a}~{b}`` for ``subject="targets"``.

A spec with a ``breakdown`` also scores parts of itself (attr_acc: one accuracy per label
column): ``breakdown(inputs)`` returns ``{part: value}`` and each value is kept under
``{subject}.{name}_{part}[{evaluator id}]``, the part written by :func:`id_part`
(lowercase, every character outside ``[a-z0-9_]`` replaced by ``_``), so a column
``"Colour-Hue"`` of attr_acc reads ``image.attr_acc_colour_hue[judge:scenes-v1]``. Parts
run on the same rows as the spec and are skipped with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias, get_args

import numpy as np

from benchmark.core.modalities import MODALITIES, Modality
from metrics.value import MetricValue

if TYPE_CHECKING:  # listing and loading metric specs imports no torch
    from benchmark.core.media.logmel import LogMelClips

Media: TypeAlias = "np.ndarray | LogMelClips | Sequence[str]"
"""Images ``uint8 [N, H, W, 3]``, audio ``float32 [N, T]`` or N captions. Decoded audio is
``LogMelClips`` (the judges' log-mel maps, benchmark/core/media/logmel.py): ``np.asarray``
of it gives its ``float32 [N, T]`` waveforms by Griffin-Lim."""

EvaluatorRole = Literal["attributes", "features", "captions", "pair", "embeddings"]
Row = Literal["outputs", "ceiling"]
Subject = Literal["target", "direction", "targets"]

OUTPUTS: frozenset[Row] = frozenset({"outputs"})
CEILING: frozenset[Row] = frozenset({"ceiling"})
OUTPUTS_AND_CEILING: frozenset[Row] = OUTPUTS | CEILING

UNKNOWN = -1
"""The label (or predicted attribute) index of an unknown value."""

_NAME = re.compile(r"^[a-z0-9_]+$")
_NOT_IN_NAME = re.compile(r"[^a-z0-9_]")


_METRIC_ID = re.compile(r"^(?P<subject>[a-z0-9~]+)\.(?P<metric>[a-z0-9_]+)\[(?P<evaluator>.+)\]$")


def metric_id(subject: str, name: str, evaluator: str) -> str:
    """``metric_id("image", "fid", "judge:scenes-v1")`` -> ``"image.fid[judge:scenes-v1]"``."""
    return f"{subject}.{name}[{evaluator}]"


def parse_metric_id(text: str) -> tuple[str, str, str]:
    """The inverse of :func:`metric_id`: ``"image.fid[judge:scenes-v1]"`` -> ``("image",
    "fid", "judge:scenes-v1")``; a ValueError for text that is not a metric id."""
    match = _METRIC_ID.match(text)
    if match is None:
        raise ValueError(f"not a metric id: {text}")
    return match["subject"], match["metric"], match["evaluator"]


def id_part(text: str) -> str:
    """``text`` fit for a metric name: lowercase, every character outside ``[a-z0-9_]``
    replaced by ``_`` (``"Colour-Hue"`` -> ``"colour_hue"``)."""
    return _NOT_IN_NAME.sub("_", text.lower())


@dataclass(frozen=True)
class MetricInputs:
    """What one metric is computed from (module doc): the scored row and the real
    reference, both as the spec's evaluator sees them, the labels, the seed of any
    resampling and the labels' column names."""

    output: Media
    reference: Media | None = None
    labels: np.ndarray | None = None
    seed: int = 0
    label_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name, direction, scope, needs, evaluator role and pure function.

    ``targets`` are the generated modalities it scores. A per-source metric (alignment)
    lists in ``sources`` the source modalities it pairs a target with and is scored once
    per source of the task among them (never with s = t); it is not scored when the task
    has none. ``needs_media`` says it reads decoded media (not only embeddings),
    ``needs_labels`` the test items' attribute labels, ``needs_reference`` the real
    reference set (module doc). ``rows`` are the rows it scores. ``breakdown``, when set,
    gives the values of its parts (module doc). ``from_features``, set on a set metric
    (one that is not a mean of per-item scores: FID, KID, FAD, emb_fd), recomputes its value
    from the two feature sets ``(output [n, F], reference [n, F])`` it keeps in
    ``MetricValue.features``, on each multiset of items in ``draws [B, n]`` (row indices,
    the same ones for both sets; repeats allowed): ``[B]`` values, what a paired comparison
    evaluates on resampled items.
    """

    name: str
    description: str
    higher_is_better: bool
    targets: tuple[Modality, ...]
    evaluator: EvaluatorRole
    compute: Callable[[MetricInputs], MetricValue]
    sources: tuple[Modality, ...] = ()
    needs_media: bool = True
    needs_labels: bool = False
    needs_reference: bool = True
    rows: frozenset[Row] = OUTPUTS
    subject: Subject = "target"
    breakdown: Callable[[MetricInputs], Mapping[str, MetricValue]] | None = None
    from_features: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None

    def __post_init__(self) -> None:
        problems = []
        if not _NAME.match(self.name):
            problems.append(f"name must match {_NAME.pattern}")
        if not self.description or "\n" in self.description:
            problems.append("description must be one non-empty line")
        for field_name, modalities in (("targets", self.targets), ("sources", self.sources)):
            unknown = set(modalities) - set(MODALITIES)
            if unknown:
                problems.append(f"{field_name} has unknown modalities {sorted(unknown)}")
        if not self.targets:
            problems.append("targets is empty")
        if self.evaluator not in get_args(EvaluatorRole):
            problems.append(f"evaluator must be one of {get_args(EvaluatorRole)}")
        if self.subject == "targets":
            if self.per_source or self.evaluator not in ("pair", "attributes", "embeddings"):
                problems.append("a metric between targets has no sources and a pair, "
                                "attributes or embeddings evaluator")
        elif (self.evaluator == "pair") != self.per_source:
            problems.append("a pair evaluator and sources go together")
        if self.subject == "direction" and not self.per_source:
            problems.append("subject 'direction' needs sources")
        if not self.rows or not self.rows <= OUTPUTS_AND_CEILING:
            problems.append(f"rows must be a non-empty subset of {sorted(OUTPUTS_AND_CEILING)}")
        if "ceiling" in self.rows and (not self.needs_media or self.evaluator == "embeddings"):
            problems.append("a ceiling row scores real media, so it needs media, not embeddings")
        if problems:
            raise ValueError(f"metric spec '{self.name}': {'; '.join(problems)}")

    @property
    def per_source(self) -> bool:
        """Whether it is scored once per source modality (alignment metrics)."""
        return bool(self.sources)

    @property
    def between_targets(self) -> bool:
        """Whether it scores generated targets against each other (module doc)."""
        return self.subject == "targets"

    def target_pairs(self, targets: Sequence[Modality]) -> list[tuple[Modality, Modality]]:
        """The unordered pairs ``(a, b)`` of ``targets`` it is scored on, a before b in
        canonical modality order; none for a spec that is not between targets."""
        if not self.between_targets:
            return []
        mine = [m for m in MODALITIES if m in targets and m in self.targets]
        return [(a, b) for i, a in enumerate(mine) for b in mine[i + 1:]]

    def pairings(self, target: Modality, sources: Sequence[Modality]
                 ) -> list[Modality | None]:
        """The sources it is scored with for ``target`` in a task with ``sources``: ``[None]``
        for a metric of the target alone, ``[]`` when it does not apply (always, for a
        metric between targets)."""
        if target not in self.targets or self.between_targets:
            return []
        if not self.per_source:
            return [None]
        return [s for s in sources if s in self.sources and s != target]

    def subject_of(self, target: Modality, source: Modality | None = None) -> str:
        """The id's subject: ``target``, ``{source}2{target}`` for a direction, or
        ``{target}~{source}`` for a pair of targets (``target`` the first of the pair)."""
        if self.subject == "direction":
            return f"{source}2{target}"
        return f"{target}~{source}" if self.between_targets else target

    def id(self, evaluator: str, target: Modality, source: Modality | None = None,
           part: str | None = None) -> str:
        """The metric id under ``evaluator`` for ``target`` (scored against ``source``), or
        that of one ``part`` of its breakdown (module doc)."""
        name = self.name if part is None else f"{self.name}_{id_part(part)}"
        return metric_id(self.subject_of(target, source), name, evaluator)

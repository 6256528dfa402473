"""The run's evaluators: which model scores which metric, chosen by ``--evaluator`` and
named in every metric id.

``embedded`` (the default) uses the judges trained on the embedded dataset:
    attribute judges  ``judge:<dataset>``             attr_acc; their penultimate features
                                                      for FID/KID (images) and FAD (audio)
    contrastive judges ``contrastive-judge:<dataset>`` clip (text-image), clap (text-audio),
                                                      ais (image-audio)
``pretrained`` uses published models from local files (metrics/evaluators/weights.py):
    Inception-V3 through clean-fid (FID/KID), open_clip CLIP (clip), laion-clap (clap, and
    the audio features of FAD). Attribute accuracy stays with the attribute judges (the
    attributes belong to the dataset) and AIS with the image-audio judge: no pretrained
    image-audio model is wired yet, and the id says so.

Captions are scored by coco-caption (``cider_d``, ``bleu4``) under either choice. Each
evaluator fills one role of metrics/spec.py; a role left empty (no evaluator for a
modality or pair) makes the metrics that need it skipped, with the reason recorded. The
judges exist only where the training split can teach them (a modality with labelled
training items, a pair some training item holds), so a role may be empty for some
modalities, or all of them (a dataset without label columns has no attribute judges, hence
no embedded features either); ``gaps`` says why, and the skip reason repeats it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from itertools import combinations
from pathlib import Path

import numpy as np

from benchmark.core.modalities import MODALITIES, Modality
from metrics.spec import EvaluatorRole, Media

CAPTION_EVALUATOR = "coco-caption"

GapKey = tuple[EvaluatorRole, Modality | frozenset[Modality]]
"""A role and the target modality (or, for ``pair``, the unordered pair) it lacks."""


@dataclass(frozen=True)
class Evaluator:
    """A named model that turns media into what a metric compares.

    ``id`` is the evaluator part of metric ids; ``apply(modality, media)`` returns one row
    per item (predicted attributes, features, unit embeddings or captions, by role).
    """

    id: str
    apply: Callable[[Modality, Media], Media]


@dataclass(frozen=True)
class Evaluators:
    """Every evaluator a run has, resolved once, by role: ``attributes`` and ``features``
    per modality, ``pairs`` per unordered modality pair, ``captions`` the caption scorer.
    The ``embeddings`` role is the backbones' space, which the harness names. ``gaps`` says
    why a role has no evaluator for a modality (or pair), where that is known."""

    kind: str
    attributes: Mapping[Modality, Evaluator]
    features: Mapping[Modality, Evaluator]
    pairs: Mapping[frozenset[Modality], Evaluator]
    captions: Evaluator | None
    gaps: Mapping[GapKey, str] = field(default_factory=dict)

    def lookup(self, role: EvaluatorRole, target: Modality,
               source: Modality | None = None) -> Evaluator | None:
        """The evaluator of ``role`` for ``target`` (and ``source``, for a pair), or None."""
        if role == "attributes":
            return self.attributes.get(target)
        if role == "features":
            return self.features.get(target)
        if role == "captions":
            return self.captions
        if role == "pair":
            return self.pairs.get(frozenset({source, target}))
        raise ValueError(f"the {role} role is not held by the evaluators")

    def gap(self, role: EvaluatorRole, target: Modality,
            source: Modality | None = None) -> str | None:
        """Why :meth:`lookup` finds no evaluator of ``role`` for ``target`` (and
        ``source``), or None when that is not known."""
        return self.gaps.get((role, frozenset({source, target}) if role == "pair" else target))


def _captions(modality: Modality, captions: Media) -> list[str]:
    """coco-caption tokenizes inside the metrics, so it sees the captions themselves."""
    return list(captions)


COCO_CAPTION = Evaluator(CAPTION_EVALUATOR, _captions)


def _attribute_predictors(attribute_judges: Mapping, dataset_version: str
                          ) -> dict[Modality, Evaluator]:
    """An attribute predictor per modality that has a judge; each judge is read (and so,
    from an :class:`~benchmark.core.on_demand.OnDemand` mapping, made) only when its
    predictor is first applied."""
    def predictor(modality: Modality) -> Callable[[Modality, Media], np.ndarray]:
        return lambda _, media: attribute_judges[modality].predict(media).numpy()

    return {modality: Evaluator(f"judge:{dataset_version}", predictor(modality))
            for modality in attribute_judges}


def _contrastive_pairs(contrastive_judges: Mapping, dataset_version: str
                       ) -> dict[frozenset[Modality], Evaluator]:
    """A pair encoder per modality pair that has a contrastive judge, read when first
    applied."""
    def encoder(pair: tuple[Modality, Modality]) -> Callable[[Modality, Media], np.ndarray]:
        return lambda modality, media: contrastive_judges[pair].encode(modality, media).numpy()

    return {frozenset(pair): Evaluator(f"contrastive-judge:{dataset_version}", encoder(pair))
            for pair in contrastive_judges}


def _judge_image_features(judge: Callable[[], object]) -> Callable[[Modality, Media], np.ndarray]:
    """clean-fid features of images under the image attribute judge ``judge()``, read when
    the features are first asked for."""
    from metrics.evaluators.image_features import (
        clean_image_features,
        judge_image_extractor,
        judge_resize,
    )

    @cache
    def extractor_and_resize():
        return (judge_image_extractor(judge()), judge_resize(judge()),
                judge().shape_args["image_size"])

    def features(modality: Modality, images: Media) -> np.ndarray:
        extractor, resize, side = extractor_and_resize()
        return clean_image_features(np.asarray(images), extractor, resize=resize,
                                    native_side=side)

    return features


def _judge_audio_features(judge: Callable[[], object]) -> Callable[[Modality, Media], np.ndarray]:
    """FAD features of audio under the audio attribute judge ``judge()``."""
    from metrics.evaluators.audio_features import judge_audio_features

    return lambda modality, audio: judge_audio_features(judge(), audio)


_JUDGE_FEATURES = {"image": _judge_image_features, "audio": _judge_audio_features}
"""The modalities whose attribute judge's features serve a Fréchet metric (fid/kid, fad)."""


def _attribute_judge_gaps(attribute_judges: Mapping, roles: tuple[EvaluatorRole, ...]
                          ) -> dict[GapKey, str]:
    """Why a modality has no attribute judge (no labelled training item of it, or none at
    all, as for a dataset without label columns), for each role those judges fill."""
    gaps: dict[GapKey, str] = {}
    for modality in MODALITIES:
        if modality in attribute_judges:
            continue
        why = (f"no training {modality} item has a label" if attribute_judges
               else "the dataset has no label columns, or labels no training item,")
        reason = f"{why} to train an attribute judge on"
        if "attributes" in roles:
            gaps["attributes", modality] = reason
        if "features" in roles and modality in _JUDGE_FEATURES:
            gaps["features", modality] = f"its features are the attribute judge's, and {reason}"
    return gaps


def _contrastive_judge_gaps(pairs: Mapping[frozenset[Modality], Evaluator]
                            ) -> dict[GapKey, str]:
    """Why a modality pair has no pair encoder: no training item holds both."""
    return {("pair", frozenset(pair)): f"no training item holds both {pair[0]} and {pair[1]} "
                                       "to train a contrastive judge on"
            for pair in combinations(MODALITIES, 2) if frozenset(pair) not in pairs}


def embedded_evaluators(attribute_judges: Mapping, contrastive_judges: Mapping,
                        dataset_version: str) -> Evaluators:
    """The embedded judges of ``dataset_version`` (e.g. ``scenes-v1``); either mapping may
    lack any modality (or pair), or be empty (module doc)."""
    judge_id = f"judge:{dataset_version}"
    features = {modality: Evaluator(judge_id, _JUDGE_FEATURES[modality](
                    partial(attribute_judges.__getitem__, modality)))
                for modality in attribute_judges if modality in _JUDGE_FEATURES}
    pairs = _contrastive_pairs(contrastive_judges, dataset_version)
    return Evaluators(
        kind="embedded",
        attributes=_attribute_predictors(attribute_judges, dataset_version),
        features=features,
        pairs=pairs,
        captions=COCO_CAPTION,
        gaps={**_attribute_judge_gaps(attribute_judges, ("attributes", "features")),
              **_contrastive_judge_gaps(pairs)},
    )


def pretrained_evaluators(attribute_judges: Mapping, contrastive_judges: Mapping,
                          dataset_version: str, weights_file: Path | None,
                          sample_rate: int) -> Evaluators:
    """Inception-V3 (clean-fid), open_clip CLIP and laion-clap from local files."""
    from metrics.evaluators.image_features import clean_image_features, inception_extractor
    from metrics.evaluators.pretrained_clap import PretrainedClap
    from metrics.evaluators.pretrained_clip import PretrainedClip
    from metrics.evaluators.weights import CLAP, CLIP, INCEPTION, WeightsConfig

    weights = WeightsConfig.load(weights_file)
    weights.require(INCEPTION, CLIP, CLAP)
    extractor = inception_extractor(weights.path(INCEPTION))
    clip = PretrainedClip.from_weights(weights)
    clap = PretrainedClap.from_weights(weights)

    def clip_encode(modality: Modality, media: Media) -> np.ndarray:
        if modality == "image":
            return clip.encode_images(np.asarray(media)).numpy()
        return clip.encode_texts(list(media)).numpy()

    def clap_encode(modality: Modality, media: Media) -> np.ndarray:
        if modality == "audio":
            return clap.encode_audio(np.asarray(media), sample_rate).numpy()
        return clap.encode_texts(list(media)).numpy()

    pairs = _contrastive_pairs(contrastive_judges, dataset_version)
    pairs[frozenset({"text", "image"})] = Evaluator(CLIP.id, clip_encode)
    pairs[frozenset({"text", "audio"})] = Evaluator(CLAP.id, clap_encode)
    return Evaluators(
        kind="pretrained",
        attributes=_attribute_predictors(attribute_judges, dataset_version),
        features={
            "image": Evaluator(INCEPTION.id, lambda modality, images: clean_image_features(
                np.asarray(images), extractor)),
            "audio": Evaluator(CLAP.id, clap_encode),
        },
        pairs=pairs,
        captions=COCO_CAPTION,
        gaps={**_attribute_judge_gaps(attribute_judges, ("attributes",)),
              **_contrastive_judge_gaps(pairs)},
    )

"""Evaluators: which model scores which metric, chosen by ``--evaluator`` and named in
every metric id.

``embedded`` (the default) uses the judges trained on the embedded dataset:
    attribute judges  ``judge:<dataset>``             attr_acc; their penultimate features
                                                      for FID/KID (images) and FAD (audio)
    contrastive judges ``contrastive-judge:<dataset>`` clip (text-image), clap (text-audio),
                                                      ais (image-audio)
``pretrained`` uses published models from local files (metrics/weights.py):
    Inception-V3 through clean-fid (FID/KID), open_clip CLIP (clip), laion-clap (clap, and
    the audio features of FAD). Attribute accuracy stays with the attribute judges (the
    attributes belong to the dataset) and AIS with the image-audio judge: no pretrained
    image-audio model is wired yet, and the id says so.

Captions are scored by coco-caption (``cider_d``, ``bleu4``) under either choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES, Modality

EVALUATOR_KINDS = ("embedded", "pretrained")
CAPTION_EVALUATOR = "coco-caption"

# The alignment metric each unordered modality pair is scored with.
ALIGNMENT_METRICS: dict[frozenset[str], str] = {
    frozenset({"text", "image"}): "clip",
    frozenset({"text", "audio"}): "clap",
    frozenset({"image", "audio"}): "ais",
}

Media = np.ndarray | Sequence[str]


class PairEncoder(Protocol):
    """Maps media of either modality of a pair into one space of L2-normalized vectors."""

    def __call__(self, modality: Modality, media: Media) -> np.ndarray: ...


@dataclass(frozen=True)
class Alignment:
    """How one modality pair is scored: metric name, evaluator id and the encoder."""

    metric: str
    evaluator: str
    encode: PairEncoder


@dataclass(frozen=True)
class Evaluators:
    """Every evaluator a run needs, resolved once.

    ``image_features`` / ``audio_features`` map media to the feature vectors the Fréchet
    metrics (FID/KID, FAD) compare; ``alignments`` is keyed by the unordered pair.
    """

    kind: str
    attribute_judges: dict
    attribute_evaluator: str
    image_evaluator: str
    image_features: Callable[[np.ndarray], np.ndarray]
    audio_evaluator: str
    audio_features: Callable[[np.ndarray], np.ndarray]
    alignments: dict[frozenset[str], Alignment]
    caption_evaluator: str = CAPTION_EVALUATOR

    def alignment(self, a: Modality, b: Modality) -> Alignment:
        return self.alignments[frozenset({a, b})]


def pair_name(a: Modality, b: Modality) -> str:
    """``"text-image"``: a pair in canonical modality order."""
    first, second = sorted((a, b), key=MODALITIES.index)
    return f"{first}-{second}"


def _contrastive_encoder(judge) -> PairEncoder:
    def encode(modality: Modality, media: Media) -> np.ndarray:
        return judge.encode(modality, media).numpy()

    return encode


def embedded_evaluators(attribute_judges: dict, contrastive_judges: dict,
                        dataset_version: str) -> Evaluators:
    """The embedded judges of ``dataset_version`` (e.g. ``scenes-v1``)."""
    from metrics.fad import judge_audio_features
    from metrics.fid import clean_image_features, judge_image_extractor, judge_resize

    judge_id = f"judge:{dataset_version}"
    image_judge, audio_judge = attribute_judges["image"], attribute_judges["audio"]
    extractor = judge_image_extractor(image_judge)
    resize = judge_resize(image_judge)
    return Evaluators(
        kind="embedded",
        attribute_judges=attribute_judges,
        attribute_evaluator=judge_id,
        image_evaluator=judge_id,
        image_features=lambda images: clean_image_features(images, extractor, resize=resize),
        audio_evaluator=judge_id,
        audio_features=lambda audio: judge_audio_features(audio_judge, audio),
        alignments=_embedded_alignments(contrastive_judges, dataset_version),
    )


def _embedded_alignments(contrastive_judges: dict, dataset_version: str) -> dict:
    evaluator = f"contrastive-judge:{dataset_version}"
    return {
        frozenset(pair): Alignment(ALIGNMENT_METRICS[frozenset(pair)], evaluator,
                                   _contrastive_encoder(judge))
        for pair, judge in contrastive_judges.items()
    }


def pretrained_evaluators(attribute_judges: dict, contrastive_judges: dict,
                          dataset_version: str, weights_file: Path | None,
                          sample_rate: int) -> Evaluators:
    """Inception-V3 (clean-fid), open_clip CLIP and laion-clap from local files."""
    from metrics.fid import clean_image_features, inception_extractor
    from metrics.pretrained_clap import PretrainedClap
    from metrics.pretrained_clip import PretrainedClip
    from metrics.weights import CLAP, CLIP, INCEPTION, WeightsConfig

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

    alignments = _embedded_alignments(contrastive_judges, dataset_version)
    alignments[frozenset({"text", "image"})] = Alignment("clip", CLIP.id, clip_encode)
    alignments[frozenset({"text", "audio"})] = Alignment("clap", CLAP.id, clap_encode)
    return Evaluators(
        kind="pretrained",
        attribute_judges=attribute_judges,
        attribute_evaluator=f"judge:{dataset_version}",
        image_evaluator=INCEPTION.id,
        image_features=lambda images: clean_image_features(images, extractor),
        audio_evaluator=CLAP.id,
        audio_features=lambda audio: clap_encode("audio", audio),
        alignments=alignments,
    )


def check_evaluator_kind(kind: str) -> None:
    if kind not in EVALUATOR_KINDS:
        from benchmark.core.registry import did_you_mean

        raise UserError(f"unknown evaluator '{kind}': {did_you_mean(kind, list(EVALUATOR_KINDS))}")

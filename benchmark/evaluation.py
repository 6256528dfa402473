"""Score what a method generated for one task, target modality by target modality.

For a target modality t generated from sources S, with decoded media x_hat and the
method's embeddings z_hat of the N test items, the metrics are

    t.attr_acc[judge]      does x_hat_i show item i's latent attributes?        (per item)
    quality                image: fid, kid; audio: fad (generated vs real test media
                           features, equal n); text: cider_d, bleu4 against the item's
                           reference caption                                      (set / per item)
    alignment, per s in S  clip (text-image), clap (text-audio), ais (image-audio)
                           between x_hat_i and the real source item s_i           (per item)
    t.emb_fd, t.emb_cos    z_hat against the true embeddings z, no decoder        (set / per item)

Every id is ``{modality}.{metric}[{evaluator}]`` (see metrics/evaluators.py). The same
function scores the oracle and chance rows, so every number has its references.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from benchmark.core.media_split import MediaSplit
from benchmark.core.modalities import Modality
from benchmark.core.tasks import Task
from metrics.alignment import ALIGNMENT_SCORES, retrieval_at_1
from metrics.attribute_accuracy import attribute_accuracy
from metrics.captioning import bleu4, cider_d
from metrics.embedding_space import embedding_cosine, embedding_frechet
from metrics.evaluators import Alignment, Evaluators, pair_name
from metrics.fad import fad
from metrics.fid import fid, kid
from metrics.value import MetricValue

Media = np.ndarray | Sequence[str]

def metric_id(modality: str, metric: str, evaluator: str) -> str:
    return f"{modality}.{metric}[{evaluator}]"


@dataclass
class RealReference:
    """The real test items that generated outputs are compared with.

    ``embeddings`` are the true test embeddings (the backbones' space, named by
    ``embedding_evaluator``). Features of real media are computed once per evaluator and
    reused across the generated, oracle and chance rows.
    """

    test: MediaSplit
    embeddings: dict[Modality, np.ndarray]
    evaluators: Evaluators
    embedding_evaluator: str
    _features: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def features(self, modality: Modality, extractor: str,
                 compute: Callable[[Media], np.ndarray]) -> np.ndarray:
        """``compute(real media of modality)``, memoized under ``(modality, extractor)``."""
        key = (modality, extractor)
        if key not in self._features:
            self._features[key] = compute(self.test.media(modality))
        return self._features[key]

    def encoded(self, modality: Modality, alignment: Alignment,
                pair: tuple[Modality, Modality]) -> np.ndarray:
        """Real media of ``modality`` under a pair's alignment encoder, memoized (one
        evaluator id may hold a different encoder per pair, as the contrastive judges do)."""
        key = f"{alignment.evaluator}/{pair_name(*pair)}"
        return self.features(modality, key, lambda real: alignment.encode(modality, real))


def score_target(target: Modality, sources: Sequence[Modality], media: Media,
                 embeddings: np.ndarray, reference: RealReference,
                 seed: int = 0) -> dict[str, MetricValue]:
    """All metrics of one target modality for one row of outputs (see the module doc)."""
    evaluators = reference.evaluators
    judge = evaluators.attribute_judges[target]
    scores = {
        metric_id(target, "attr_acc", evaluators.attribute_evaluator): attribute_accuracy(
            judge.predict(media).numpy(), reference.test.attributes, seed=seed
        ),
    }
    scores.update(_quality(target, media, reference, seed))
    for source in sources:
        scores.update(_alignment(source, target, media, reference, seed))
    true = reference.embeddings[target]
    scores[metric_id(target, "emb_fd", reference.embedding_evaluator)] = embedding_frechet(
        embeddings, true, seed=seed
    )
    scores[metric_id(target, "emb_cos", reference.embedding_evaluator)] = embedding_cosine(
        embeddings, true, seed=seed
    )
    return scores


def _quality(target: Modality, media: Media, reference: RealReference,
             seed: int) -> dict[str, MetricValue]:
    evaluators = reference.evaluators
    if target == "text":
        captions = list(media)
        references = reference.test.captions
        name = evaluators.caption_evaluator
        return {
            metric_id("text", "cider_d", name): cider_d(captions, references, seed=seed),
            metric_id("text", "bleu4", name): bleu4(captions, references, seed=seed),
        }
    if target == "image":
        name, extract = evaluators.image_evaluator, evaluators.image_features
        generated = extract(np.asarray(media))
        real = reference.features("image", name, extract)
        return {
            metric_id("image", "fid", name): fid(generated, real, seed=seed),
            metric_id("image", "kid", name): kid(generated, real, seed=seed),
        }
    name, extract = evaluators.audio_evaluator, evaluators.audio_features
    real = reference.features("audio", name, extract)
    return {metric_id("audio", "fad", name): fad(extract(np.asarray(media)), real, seed=seed)}


def _alignment(source: Modality, target: Modality, media: Media, reference: RealReference,
               seed: int) -> dict[str, MetricValue]:
    """The pair's alignment metric between generated target media and the real sources."""
    alignment = reference.evaluators.alignment(source, target)
    generated = alignment.encode(target, media)
    sources = reference.encoded(source, alignment, (source, target))
    value = ALIGNMENT_SCORES[alignment.metric](generated, sources, seed=seed)
    return {metric_id(target, alignment.metric, alignment.evaluator): value}


def evaluator_ceilings(task: Task, reference: RealReference,
                       seed: int = 0) -> dict[str, MetricValue]:
    """What a perfect generator would score: every per-item metric of the task on the real
    test media themselves, plus each alignment evaluator's retrieval R@1 (source ->
    target) on real test pairs."""
    evaluators = reference.evaluators
    test = reference.test
    ceilings = {}
    for target in task.targets:
        judge = evaluators.attribute_judges[target]
        ceilings[metric_id(target, "attr_acc", evaluators.attribute_evaluator)] = (
            attribute_accuracy(judge.predict(test.media(target)).numpy(), test.attributes,
                               seed=seed)
        )
        for source in task.sources:
            ceilings.update(_alignment(source, target, test.media(target), reference, seed))
            alignment = evaluators.alignment(source, target)
            queries = reference.encoded(source, alignment, (source, target))
            candidates = reference.encoded(target, alignment, (source, target))
            ceilings[metric_id(f"{source}2{target}", "r_at_1", alignment.evaluator)] = (
                retrieval_at_1(queries, candidates, test.attributes, test.attributes, seed=seed)
            )
    return ceilings

"""Metric families; each metric id also names its evaluator, e.g. ``image.fid[judge:scenes-v1]``.

Ids read ``{modality}.{metric}[{evaluator}]``: the modality scored (for alignment metrics,
the generated target, compared with its source), the metric below, and the model that
produced the numbers. Numbers under different evaluators never share a column. A metric
that breaks down into parts adds one id per part, ``{modality}.{metric}_{part}[...]``
(attr_acc: one per label column, e.g. ``image.attr_acc_colour[judge:scenes-v1]``; see
metrics/spec.py).

Each metric is a :class:`metrics.spec.MetricSpec` defined beside its function in its
family's module and registered here on one line: name, the one-line description that
``ls metrics`` prints, and where the spec lives (imported only when it is used, so listing
imports no torch). The harness scores every registered spec that applies, in this order,
then those installed packages declare under the entry-point group ``anybench.metrics``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from benchmark.core.registry import Registry

if TYPE_CHECKING:
    from metrics.spec import MetricSpec

METRICS: Registry[MetricSpec] = Registry("metric", "anybench.metrics")


def _spec(where: str) -> Callable[[], MetricSpec]:
    """A loader of the spec at ``"module:NAME"``, imported when first called."""
    module, _, name = where.partition(":")
    return lambda: getattr(import_module(module), name)


METRICS.add("attr_acc", "attribute accuracy of generated media under the target's attribute "
            "judge, overall and per label column (attr_acc_<column>), bootstrap CI (higher "
            "is better)",
            _spec("metrics.attribute_accuracy:ATTRIBUTE_ACCURACY"))
METRICS.add("fid", "Fréchet distance of image features (clean-fid, mode=clean), generated vs "
            "real test images at equal n (lower is better)", _spec("metrics.fid:FID"))
METRICS.add("kid", "kernel inception distance on the same features as fid (lower is better)",
            _spec("metrics.fid:KID"))
METRICS.add("fad", "Fréchet distance of audio features, generated vs real test audio at equal "
            "n (lower is better)", _spec("metrics.fad:FAD"))
METRICS.add("cider_d", "CIDEr-D of generated captions against the reference caption "
            "(coco-caption), bootstrap CI (higher is better)",
            _spec("metrics.captioning:CIDER_D"))
METRICS.add("bleu4", "corpus BLEU-4 of generated captions (coco-caption), bootstrap CI "
            "(higher is better)", _spec("metrics.captioning:BLEU4"))
METRICS.add("clip", "mean over items of 100 * max(cos, 0) (clamped per item) between text "
            "and image embeddings of a text-image evaluator, generated target vs its source "
            "(higher is better)",
            _spec("metrics.alignment:CLIP"))
METRICS.add("clap", "mean over items of 100 * cos (no clamp) between text and audio "
            "embeddings of a text-audio evaluator, generated target vs its source "
            "(higher is better)",
            _spec("metrics.alignment:CLAP"))
METRICS.add("ais", "image-audio similarity: % of other items' counterparts ranked below the "
            "true source by an image-audio evaluator (higher is better, chance 50)",
            _spec("metrics.alignment:AIS"))
METRICS.add("r_at_1", "retrieval R@1 of a contrastive judge on real test pairs (its ceiling)",
            _spec("metrics.alignment:RETRIEVAL_AT_1"))
METRICS.add("emb_fd", "Fréchet distance of generated vs true target embeddings, no decoder "
            "(lower is better)", _spec("metrics.embedding_space:EMBEDDING_FRECHET"))
METRICS.add("emb_cos", "mean cosine of each generated embedding to its item's true embedding, "
            "no decoder (higher is better)", _spec("metrics.embedding_space:EMBEDDING_COSINE"))
METRICS.add("emb_r_at_1", "retrieval R@1 of each item's true embedding among the test items' by "
            "cosine to its generated embedding, no decoder (higher is better, chance 1/N)",
            _spec("metrics.embedding_space:EMBEDDING_RETRIEVAL_AT_1"))
METRICS.add("coherence", "joint coherence of a one-to-many task: mean over items of 100 * cos "
            "between the two generated targets under their pair's evaluator (higher is "
            "better)", _spec("metrics.coherence:COHERENCE"))
METRICS.add("coherence_rank", "joint coherence as a ranking: % of other items' second targets "
            "ranked below the item's own by the pair's evaluator (higher is better, chance "
            "50)", _spec("metrics.coherence:COHERENCE_RANK"))
METRICS.add("attr_agree", "joint coherence by attributes: share of label columns on which the "
            "judges read the same value in both generated targets (higher is better)",
            _spec("metrics.coherence:ATTRIBUTE_AGREEMENT"))
METRICS.add("emb_coherence", "joint coherence without a decoder: correlation of the two "
            "generated targets' cosine profiles over the true test embeddings of their "
            "modalities (higher is better, chance 0)",
            _spec("metrics.coherence:EMBEDDING_COHERENCE"))


def spec_of(name: str) -> MetricSpec:
    """The spec behind a metric name as ids write it: a registered metric's; a part of one's
    breakdown (``attr_acc_colour``) its parent's; a gain from more sources (``gain_fid``,
    metrics/source_gain.py) a spec of its own, higher being better whatever its base
    metric's direction and not recomputed from features. An unknown name is a UserError."""
    import dataclasses

    names = METRICS.names()
    if name in names:
        return METRICS.get(name)
    if name.startswith("gain_"):
        base = spec_of(name.removeprefix("gain_"))
        return dataclasses.replace(
            base, name=name, higher_is_better=True, from_features=None, breakdown=None,
            description=f"gain of {base.name} from every source over the best single source "
                        "(higher is better)")
    parents = [registered for registered in names if name.startswith(f"{registered}_")]
    return METRICS.get(max(parents, key=len) if parents else name)

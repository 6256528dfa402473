"""Metric families; each metric id also names its evaluator, e.g. ``image.fid[judge:scenes-v1]``.

Ids read ``{modality}.{metric}[{evaluator}]``: the modality scored (for alignment metrics,
the generated target, compared with its source), the metric below, and the model that
produced the numbers. Numbers under different evaluators never share a column.
"""

from __future__ import annotations

from benchmark.core.registry import Registry

METRICS: Registry[str] = Registry("metric")

for _name, _description, _module in (
    ("attr_acc", "attribute accuracy of generated media under the target's attribute judge, "
     "bootstrap CI (higher is better)", "metrics.attribute_accuracy"),
    ("fid", "Fréchet distance of image features (clean-fid, mode=clean), generated vs real "
     "test images at equal n (lower is better)", "metrics.fid"),
    ("kid", "kernel inception distance on the same features as fid (lower is better)",
     "metrics.fid"),
    ("fad", "Fréchet distance of audio features, generated vs real test audio at equal n "
     "(lower is better)", "metrics.fad"),
    ("cider_d", "CIDEr-D of generated captions against the reference caption (coco-caption), "
     "bootstrap CI (higher is better)", "metrics.captioning"),
    ("bleu4", "corpus BLEU-4 of generated captions (coco-caption), bootstrap CI "
     "(higher is better)", "metrics.captioning"),
    ("clip", "100 * max(cos, 0) between text and image embeddings of a text-image evaluator, "
     "generated target vs its source (higher is better)", "metrics.alignment"),
    ("clap", "100 * cos between text and audio embeddings of a text-audio evaluator, "
     "generated target vs its source (higher is better)", "metrics.alignment"),
    ("ais", "image-audio similarity: % of other items' counterparts ranked below the true "
     "source by an image-audio evaluator (higher is better, chance 50)", "metrics.alignment"),
    ("r_at_1", "retrieval R@1 of a contrastive judge on real test pairs (its ceiling)",
     "metrics.alignment"),
    ("emb_fd", "Fréchet distance of generated vs true target embeddings, no decoder "
     "(lower is better)", "metrics.embedding_space"),
    ("emb_cos", "mean cosine of each generated embedding to its item's true embedding, no "
     "decoder (higher is better)", "metrics.embedding_space"),
):
    METRICS.add(_name, _description, (lambda module=_module: module))

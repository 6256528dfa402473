"""Metric families; each metric id also names its evaluator, e.g. ``image.fid[judge:scenes-v1]``.

Ids read ``{modality}.{metric}[{evaluator}]``: the modality scored (for alignment metrics,
the generated target, compared with its source), the metric below, and the model that
produced the numbers. Numbers under different evaluators never share a column. A metric
that breaks down into parts adds one id per part, ``{modality}.{metric}_{part}[...]``
(attr_acc: one per label column, e.g. ``image.attr_acc_colour[judge:scenes-v1]``; see
metrics/spec.py).

Each metric is a :class:`metrics.spec.MetricSpec` defined beside its function in its
family's module and registered here on one line: its name and where the spec lives
(imported when first used; the spec modules import neither torch nor scipy until they
compute). The one-line description ``ls metrics`` prints is the spec's own. The harness
scores every registered spec that applies, in this order, then those installed packages
declare under the entry-point group ``anybench.metrics``.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

from benchmark.core.registry import Registry

if TYPE_CHECKING:
    from metrics.spec import MetricSpec

METRICS: Registry[MetricSpec] = Registry("metric", "anybench.metrics",
                                          describe=attrgetter("description"))

METRICS.add("attr_acc", "metrics.attribute_accuracy:ATTRIBUTE_ACCURACY")
METRICS.add("fid", "metrics.fid:FID")
METRICS.add("kid", "metrics.fid:KID")
METRICS.add("fad", "metrics.fad:FAD")
METRICS.add("cider_d", "metrics.captioning:CIDER_D")
METRICS.add("bleu4", "metrics.captioning:BLEU4")
METRICS.add("clip", "metrics.alignment:CLIP")
METRICS.add("clap", "metrics.alignment:CLAP")
METRICS.add("ais", "metrics.alignment:AIS")
METRICS.add("r_at_1", "metrics.alignment:RETRIEVAL_AT_1")
METRICS.add("emb_fd", "metrics.embedding_space:EMBEDDING_FRECHET")
METRICS.add("emb_cos", "metrics.embedding_space:EMBEDDING_COSINE")
METRICS.add("emb_r_at_1", "metrics.embedding_space:EMBEDDING_RETRIEVAL_AT_1")
METRICS.add("coherence", "metrics.coherence:COHERENCE")
METRICS.add("coherence_rank", "metrics.coherence:COHERENCE_RANK")
METRICS.add("attr_agree", "metrics.coherence:ATTRIBUTE_AGREEMENT")
METRICS.add("emb_coherence", "metrics.coherence:EMBEDDING_COHERENCE")


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

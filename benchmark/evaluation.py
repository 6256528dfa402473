"""Score generated embeddings of one target modality: decode to media, then judge.

For target modality m, generated embeddings z [N, D] are decoded by m's backbone, and
the judge of m gives
    m.attr_acc[evaluator]: mean attribute accuracy against the source items' attributes
    m.fd[evaluator]:       Fréchet distance between judge features of the decoded media
                           and of the real test media of m (same n)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor

from metrics.attribute_accuracy import attribute_accuracy
from metrics.frechet import frechet_metric
from metrics.judges import AttributeJudge
from metrics.value import MetricValue


@dataclass
class TargetReference:
    """What generated media of one modality is compared with: real test media's judge
    features and the true attributes of the test items."""

    features: np.ndarray
    attributes: np.ndarray


def metric_id(modality: str, metric: str, evaluator: str) -> str:
    return f"{modality}.{metric}[{evaluator}]"


def score_media(
    modality: str,
    media: np.ndarray | list[str],
    judge: AttributeJudge,
    reference: TargetReference,
    evaluator: str,
    seed: int = 0,
) -> dict[str, MetricValue]:
    """Attribute accuracy and Fréchet distance of decoded media of ``modality``."""
    predicted = judge.predict(media).numpy()
    features = judge.features(media).numpy()
    return {
        metric_id(modality, "attr_acc", evaluator): attribute_accuracy(
            predicted, reference.attributes, seed=seed
        ),
        metric_id(modality, "fd", evaluator): frechet_metric(features, reference.features),
    }


def decode_and_score(
    modality: str,
    embeddings: Tensor,
    backbone,
    judge: AttributeJudge,
    reference: TargetReference,
    evaluator: str,
    seed: int = 0,
) -> tuple[dict[str, MetricValue], np.ndarray | list[str]]:
    """Decode ``embeddings`` with the backbone and score the media; returns (metrics, media)."""
    media = backbone.decode(embeddings)
    return score_media(modality, media, judge, reference, evaluator, seed), media

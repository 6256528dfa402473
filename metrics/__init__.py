"""Metric families; each metric id also names its evaluator, e.g. ``image.fd[judge:scenes-v1]``."""

from __future__ import annotations

from benchmark.registry import Registry

METRICS: Registry[str] = Registry("metric")

METRICS.add(
    "attr_acc",
    "attribute accuracy of decoded outputs under the target modality's judge (higher is better)",
    lambda: "metrics.attribute_accuracy",
)
METRICS.add(
    "fd",
    "Fréchet distance of judge features, generated vs real test media, at equal n "
    "(lower is better)",
    lambda: "metrics.frechet",
)

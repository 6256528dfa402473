"""Fréchet Audio Distance: the Fréchet distance between audio feature sets.

    FAD = ||mu_g - mu_r||^2 + Tr(S_g) + Tr(S_r) - 2 Tr((S_g S_r)^{1/2})

over features of generated (g) and reference (r) clips: the embedded audio judge's
penultimate features here, a pretrained audio tower's embeddings when one is supplied (the
evaluator id says which; metrics/evaluators/). Biased in n like FID: compare at equal n.
"""

from __future__ import annotations

import numpy as np

from metrics.frechet import frechet_from_features, frechet_metric
from metrics.spec import MetricInputs, MetricSpec
from metrics.value import MetricValue


def fad(generated_features: np.ndarray, reference_features: np.ndarray,
        seed: int = 0) -> MetricValue:
    """FAD of generated against reference audio features, n = number of generated clips,
    with the bootstrap interval of metrics/frechet.py."""
    return frechet_metric(generated_features, reference_features, seed=seed)


def _fad(inputs: MetricInputs) -> MetricValue:
    return fad(inputs.output, inputs.reference, seed=inputs.seed)


FAD = MetricSpec(
    name="fad",
    description="Fréchet distance of audio features, generated vs real test audio at equal n "
                "(lower is better)",
    higher_is_better=False, targets=("audio",), evaluator="features", compute=_fad,
    from_features=frechet_from_features,
)

"""Decoder-free metrics in the method's own output space: generated target embeddings
against the ground-truth embeddings of the same test items.

    emb_fd:  Fréchet distance between the Gaussians fitted to {z_hat_i} and {z_i}
             (a set-level metric: comparable only at equal n; bootstrap interval as in
             metrics/frechet.py)
    emb_cos: mean_i cos(z_hat_i, z_i), with a bootstrap interval over items

They isolate the generator from the decoder and the judges: cheap, and blind to what
the decoder does with an embedding.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.modalities import MODALITIES
from metrics.frechet import frechet_metric
from metrics.spec import MetricInputs, MetricSpec
from metrics.value import MetricValue, mean_with_bootstrap


def embedding_frechet(generated: np.ndarray, target: np.ndarray, seed: int = 0) -> MetricValue:
    """Fréchet distance of generated embeddings ``[N, D]`` to the true ones ``[N, D]``."""
    return frechet_metric(np.asarray(generated), np.asarray(target), seed=seed)


def per_sample_cosine(generated: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``float [N]``: cos(z_hat_i, z_i) for each item (0 where either vector is zero)."""
    a = np.asarray(generated, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.einsum("nd,nd->n", a, b)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def embedding_cosine(generated: np.ndarray, target: np.ndarray, seed: int = 0) -> MetricValue:
    """Mean cosine between each generated embedding and its item's true embedding."""
    return mean_with_bootstrap(per_sample_cosine(generated, target), seed=seed)


def _embedding_frechet(inputs: MetricInputs) -> MetricValue:
    return embedding_frechet(inputs.output, inputs.reference, seed=inputs.seed)


def _embedding_cosine(inputs: MetricInputs) -> MetricValue:
    return embedding_cosine(inputs.output, inputs.reference, seed=inputs.seed)


EMBEDDING_FRECHET = MetricSpec(
    name="emb_fd",
    description="Fréchet distance of generated vs true target embeddings, no decoder "
                "(lower is better)",
    higher_is_better=False, targets=MODALITIES, evaluator="embeddings",
    compute=_embedding_frechet, needs_media=False,
)
EMBEDDING_COSINE = MetricSpec(
    name="emb_cos",
    description="mean cosine of each generated embedding to its item's true embedding, no "
                "decoder (higher is better)",
    higher_is_better=True, targets=MODALITIES, evaluator="embeddings",
    compute=_embedding_cosine, needs_media=False,
)

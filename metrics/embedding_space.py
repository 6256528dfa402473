"""Decoder-free metrics in the method's own output space: generated target embeddings
against the ground-truth embeddings of the same test items.

    emb_fd:  Fréchet distance between the Gaussians fitted to {z_hat_i} and {z_i}
             (a set-level metric: comparable only at equal n; bootstrap interval as in
             metrics/frechet.py)
    emb_cos: mean_i cos(z_hat_i, z_i), with a bootstrap interval over items
    emb_r_at_1: retrieval R@1 of the item among the N test items: with S_ij =
             cos(z_hat_i, z_j), s_i = 1[S_ij <= S_ii for all j] / |{j : S_ij = S_ii}|,
             i.e. the chance that z_i ranks first when tied candidates are ordered at
             random; the mean with a bootstrap interval over items. Chance is 1/N (a zero
             z_hat_i, cosine 0 to every z_j, scores exactly 1/N), a perfect generator 1.

They isolate the generator from the decoder and the judges: cheap, and blind to what
the decoder does with an embedding.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.modalities import MODALITIES
from metrics.frechet import frechet_from_features, frechet_metric
from metrics.spec import MetricInputs, MetricSpec
from metrics.value import MetricValue, mean_with_bootstrap

_ROWS_PER_BLOCK = 1_024  # bounds the [block, N] similarity matrix of emb_r_at_1


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


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (float64; a zero row stays zero)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def per_sample_retrieval_at_1(generated: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``float [N]``: s_i of emb_r_at_1 (module doc), the similarity matrix taken
    ``_ROWS_PER_BLOCK`` rows at a time."""
    queries, candidates = _unit_rows(generated), _unit_rows(target)
    n = len(queries)
    scores = np.empty(n)
    for start in range(0, n, _ROWS_PER_BLOCK):
        rows = np.arange(start, min(start + _ROWS_PER_BLOCK, n))
        similarity = queries[rows] @ candidates.T  # [block, N]
        true = similarity[np.arange(len(rows)), rows][:, None]
        first = ~(similarity > true).any(axis=1)
        scores[rows] = first / (similarity == true).sum(axis=1)
    return scores


def embedding_retrieval_at_1(generated: np.ndarray, target: np.ndarray,
                             seed: int = 0) -> MetricValue:
    """Share of items whose true embedding is the nearest (by cosine) of the N true ones to
    their generated embedding, ties shared (module doc), with a bootstrap interval."""
    return mean_with_bootstrap(per_sample_retrieval_at_1(generated, target), seed=seed)


def _embedding_frechet(inputs: MetricInputs) -> MetricValue:
    return embedding_frechet(inputs.output, inputs.reference, seed=inputs.seed)


def _embedding_cosine(inputs: MetricInputs) -> MetricValue:
    return embedding_cosine(inputs.output, inputs.reference, seed=inputs.seed)


def _embedding_retrieval_at_1(inputs: MetricInputs) -> MetricValue:
    return embedding_retrieval_at_1(inputs.output, inputs.reference, seed=inputs.seed)


EMBEDDING_FRECHET = MetricSpec(
    name="emb_fd",
    description="Fréchet distance of generated vs true target embeddings, no decoder "
                "(lower is better)",
    higher_is_better=False, targets=MODALITIES, evaluator="embeddings",
    compute=_embedding_frechet,
    from_features=frechet_from_features, needs_media=False,
)
EMBEDDING_COSINE = MetricSpec(
    name="emb_cos",
    description="mean cosine of each generated embedding to its item's true embedding, no "
                "decoder (higher is better)",
    higher_is_better=True, targets=MODALITIES, evaluator="embeddings",
    compute=_embedding_cosine, needs_media=False,
)
EMBEDDING_RETRIEVAL_AT_1 = MetricSpec(
    name="emb_r_at_1",
    description="retrieval R@1 of each item's true embedding among the test items' by cosine "
                "to its generated embedding, no decoder (higher is better, chance 1/N)",
    higher_is_better=True, targets=MODALITIES, evaluator="embeddings",
    compute=_embedding_retrieval_at_1, needs_media=False,
)

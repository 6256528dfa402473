"""Joint coherence: do the targets generated in one call agree with *each other*?

A one-to-many task (``text2image+audio``) generates several targets from one source.
Alignment metrics score each target against the source; these score the pair of
generated targets (a, b) of each item against each other (metrics/spec.py,
``subject="targets"``), so a method that generates the targets independently and one
that generates them jointly are compared on the same number. Row i of ``output`` is
target a of item i and row i of ``reference`` target b of the same item, as the spec's
evaluator sees them:

    coherence       s_i = 100 · cos(e_a_i, e_b_i)     pair encoder of (a, b), no clamp
    coherence_rank  s_i = 100/(N-1) · Σ_{j≠i} 1[cos(e_a_i, e_b_j) < cos(e_a_i, e_b_i)]
                    the same ranking as ais: chance 50, and a method that makes one output
                    for every item (ties everywhere) scores 0, not a high cosine
    attr_agree      s_i = (1/|K_i|) Σ_{k∈K_i} 1[p_a_ik = p_b_ik]   the attribute judges'
                    predictions on a and on b agree, over the columns K_i both know
    emb_coherence   s_i = corr(S_a_i, S_b_i)    no decoder: S_m_i = cos(z_hat_m_i, z_m_j),
                    j = 1..N, each output's similarity profile over the true test
                    embeddings of its own modality; Pearson correlation of the two profiles
                    (the two spaces share nothing else)

each the mean over items with a bootstrap interval. The reference rows read as ceiling
and chance: the ceiling row is the real pair of each test item (for emb_coherence, whose
rows are embeddings only, the oracle row of true embeddings is that ceiling), and the
chance row decodes independently drawn training items for each target, a shuffled pairing.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.modalities import MODALITIES
from metrics.alignment import ais, clap_score
from metrics.attribute_accuracy import per_sample_accuracy
from metrics.spec import OUTPUTS, OUTPUTS_AND_CEILING, MetricInputs, MetricSpec
from metrics.value import MetricValue, mean_with_bootstrap


def profile_correlation(a: np.ndarray, b: np.ndarray, seed: int = 0) -> MetricValue:
    """Mean over items of the Pearson correlation of row i of ``a`` with row i of ``b``
    (two ``[N, N']`` similarity profiles), with a bootstrap interval; a constant row
    correlates 0 with anything."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"expected two [N, N'] profiles of one shape, got {a.shape} and "
                         f"{b.shape}")
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    products = np.einsum("nk,nk->n", a, b)
    correlations = np.divide(products, norms, out=np.zeros_like(products), where=norms > 0)
    return mean_with_bootstrap(correlations, seed=seed)


def attribute_agreement(a: np.ndarray, b: np.ndarray, seed: int = 0) -> MetricValue:
    """Mean over items of the share of label columns on which the two predicted attribute
    rows agree (columns where either is unknown left out), with a bootstrap interval."""
    return mean_with_bootstrap(per_sample_accuracy(a, b), seed=seed)


def _coherence(inputs: MetricInputs) -> MetricValue:
    return clap_score(inputs.output, inputs.reference, seed=inputs.seed)


def _coherence_rank(inputs: MetricInputs) -> MetricValue:
    return ais(inputs.output, inputs.reference, seed=inputs.seed)


def _attribute_agreement(inputs: MetricInputs) -> MetricValue:
    return attribute_agreement(inputs.output, inputs.reference, seed=inputs.seed)


def _profile_correlation(inputs: MetricInputs) -> MetricValue:
    return profile_correlation(inputs.output, inputs.reference, seed=inputs.seed)


COHERENCE = MetricSpec(
    name="coherence",
    description="joint coherence of a one-to-many task: mean over items of 100 * cos between "
                "the two generated targets under their pair's evaluator (higher is better)",
    higher_is_better=True, targets=MODALITIES, evaluator="pair", compute=_coherence,
    needs_reference=False, rows=OUTPUTS_AND_CEILING, subject="targets",
)
COHERENCE_RANK = MetricSpec(
    name="coherence_rank",
    description="joint coherence as a ranking: % of other items' second targets ranked below "
                "the item's own by the pair's evaluator (higher is better, chance 50)",
    higher_is_better=True, targets=MODALITIES, evaluator="pair", compute=_coherence_rank,
    needs_reference=False, rows=OUTPUTS_AND_CEILING, subject="targets",
)
ATTRIBUTE_AGREEMENT = MetricSpec(
    name="attr_agree",
    description="joint coherence by attributes: share of label columns on which the judges "
                "read the same value in both generated targets (higher is better)",
    higher_is_better=True, targets=MODALITIES, evaluator="attributes",
    compute=_attribute_agreement, needs_labels=True, needs_reference=False,
    rows=OUTPUTS_AND_CEILING, subject="targets",
)
EMBEDDING_COHERENCE = MetricSpec(
    name="emb_coherence",
    description="joint coherence without a decoder: correlation of the two generated targets' "
                "cosine profiles over the true test embeddings of their modalities (higher "
                "is better, chance 0)",
    higher_is_better=True, targets=MODALITIES, evaluator="embeddings",
    compute=_profile_correlation, needs_media=False, rows=OUTPUTS, subject="targets",
)

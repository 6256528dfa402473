"""Alignment metrics on paired embeddings: CLIP score, CLAP score, AIS and retrieval R@1.

Each takes two ``[N, E]`` arrays whose rows ``i`` belong together (a generated output and
its source, or the two sides of a real pair) and returns the mean of a per-item score with
a bootstrap interval. Rows are L2-normalized first, so every inner product is a cosine:
``cos(x, y) = <x / ||x||, y / ||y||>``.

    clip    s_i = 100 · max(cos(a_i, b_i), 0)   clamped per item, then averaged
    clap    s_i = 100 · cos(a_i, b_i)           no clamp: negative cosines count
    ais     s_i = 100/|R| · Σ_{r∈R} 1[cos(g_i, r) < cos(g_i, c_i)],  R = {c_j : j ≠ i}
    r_at_1  s_i = 1[labels(argmax_j cos(q_i, k_j)) = labels(q_i)]

**clip** is CLIP-S of Hessel et al. 2021 (CLIPScore), ``w · max(cos, 0)`` per item averaged
over items, with the scale ``w = 100`` where the paper's weight is ``w = 2.5``: divide by
40 for the paper's numbers. torchmetrics' ``CLIPScore`` uses the same 100 but clamps after
averaging, ``max((1/N) Σ_i 100 · cos_i, 0)``; since ``max(·, 0)`` is convex, ours is never
smaller, and the two agree exactly when no item's cosine is negative (on pairs near chance
they differ: about half of the cosines are then negative).
**clap** is the mean cosine between the text and audio embeddings that text-to-audio papers
report as the CLAP score (usually on the 0–1 scale, without a clamp), times 100 to share
clip's scale.

The models behind the embeddings live elsewhere (metrics/evaluators/); torchmetrics'
CLIPScore bundles its own CLIP model, so the formulas on given embeddings are written here.
Each metric scores a generated target against its source under the pair's encoder, and its
ceiling on real test pairs; r_at_1 is a ceiling only (source -> target retrieval).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from benchmark.core.errors import UserError
from benchmark.core.modalities import MODALITIES
from metrics.spec import CEILING, OUTPUTS_AND_CEILING, MetricInputs, MetricSpec
from metrics.value import MetricValue, mean_with_bootstrap

_ROWS_PER_BLOCK = 1_024  # bounds the [block, N] similarity matrices of ais and r_at_1


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (float64)."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _check_paired(a: np.ndarray, b: np.ndarray, minimum: int = 1) -> None:
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"expected two [N, E] arrays of one shape, got {a.shape} and {b.shape}")
    if len(a) < minimum:
        raise UserError(f"alignment metrics need at least {minimum} items, got {len(a)}: "
                        "generate more samples")


def _blocks(n: int) -> Iterator[slice]:
    for start in range(0, n, _ROWS_PER_BLOCK):
        yield slice(start, min(start + _ROWS_PER_BLOCK, n))


def paired_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``float64 [N]``: cos(a_i, b_i) for each row pair."""
    a, b = np.asarray(a), np.asarray(b)
    _check_paired(a, b)
    return np.einsum("ne,ne->n", _unit_rows(a), _unit_rows(b))


def clip_score(a: np.ndarray, b: np.ndarray, seed: int = 0) -> MetricValue:
    """CLIP score: ``(1/N) Σ_i 100 · max(cos(a_i, b_i), 0)``, clamped per item before the
    mean (Hessel et al.'s CLIP-S with scale 100 instead of its weight 2.5; torchmetrics'
    CLIPScore clamps the mean instead, see the module docstring), with a bootstrap
    interval over items."""
    return mean_with_bootstrap(100.0 * np.maximum(paired_cosine(a, b), 0.0), seed=seed)


def clap_score(a: np.ndarray, b: np.ndarray, seed: int = 0) -> MetricValue:
    """CLAP score: ``(1/N) Σ_i 100 · cos(a_i, b_i)``, no clamp (negative cosines count),
    with a bootstrap interval over items."""
    return mean_with_bootstrap(100.0 * paired_cosine(a, b), seed=seed)


def ais(generated: np.ndarray, counterparts: np.ndarray, seed: int = 0) -> MetricValue:
    """Image–audio similarity: how often the true counterpart outranks the others.

    With unit rows g_i (generated) and c_i (its true counterpart), item i scores
    ``100/(N-1) · Σ_{j≠i} 1[<g_i, c_j> < <g_i, c_i>]`` (strict: ties do not count); the
    metric is the mean over items, i.e. ``100/(N|R|) · Σ_i Σ_{r∈R} 1[...]`` with
    ``|R| = N - 1``. Chance is about 50, a perfect ranking 100.
    """
    generated, counterparts = np.asarray(generated), np.asarray(counterparts)
    _check_paired(generated, counterparts, minimum=2)
    g, c = _unit_rows(generated), _unit_rows(counterparts)
    n = len(g)
    per_sample = np.empty(n)
    for rows in _blocks(n):
        similarity = g[rows] @ c.T  # [block, N]
        true = similarity[np.arange(similarity.shape[0]), np.arange(n)[rows]]
        below = (similarity < true[:, None]).sum(axis=1)  # the true pair itself is never below
        per_sample[rows] = 100.0 * below / (n - 1)
    return mean_with_bootstrap(per_sample, seed=seed)


def retrieval_at_1(queries: np.ndarray, candidates: np.ndarray, query_labels: np.ndarray,
                   candidate_labels: np.ndarray, seed: int = 0) -> MetricValue:
    """Attribute-level retrieval R@1: the share of queries whose most cosine-similar
    candidate carries the query's attribute row (ties go to the lowest candidate index).

    Items sharing all attributes are interchangeable here, since exact-item retrieval is
    ill-posed when many items have identical attributes.
    """
    queries, candidates = np.asarray(queries), np.asarray(candidates)
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(f"expected [N, E] and [M, E] arrays, got {queries.shape} and "
                         f"{candidates.shape}")
    query_labels, candidate_labels = np.asarray(query_labels), np.asarray(candidate_labels)
    q, k = _unit_rows(queries), _unit_rows(candidates)
    hits = np.empty(len(q))
    for rows in _blocks(len(q)):
        best = (q[rows] @ k.T).argmax(axis=1)
        hits[rows] = (candidate_labels[best] == query_labels[rows]).all(axis=1)
    return mean_with_bootstrap(hits, seed=seed)


def _clip(inputs: MetricInputs) -> MetricValue:
    return clip_score(inputs.output, inputs.reference, seed=inputs.seed)


def _clap(inputs: MetricInputs) -> MetricValue:
    return clap_score(inputs.output, inputs.reference, seed=inputs.seed)


def _ais(inputs: MetricInputs) -> MetricValue:
    return ais(inputs.output, inputs.reference, seed=inputs.seed)


def _retrieval_at_1(inputs: MetricInputs) -> MetricValue:
    """Sources retrieve targets: the queries are the real source media, the candidates the
    real target media (the ceiling row's output)."""
    return retrieval_at_1(inputs.reference, inputs.output, inputs.labels, inputs.labels,
                          seed=inputs.seed)


CLIP = MetricSpec(
    name="clip",
    description="mean over items of 100 * max(cos, 0) (clamped per item) between text and "
                "image embeddings of a text-image evaluator, generated target vs its source "
                "(higher is better)",
    higher_is_better=True, targets=("text", "image"), sources=("text", "image"),
    evaluator="pair", compute=_clip, rows=OUTPUTS_AND_CEILING,
)
CLAP = MetricSpec(
    name="clap",
    description="mean over items of 100 * cos (no clamp) between text and audio embeddings "
                "of a text-audio evaluator, generated target vs its source (higher is better)",
    higher_is_better=True, targets=("text", "audio"), sources=("text", "audio"),
    evaluator="pair", compute=_clap, rows=OUTPUTS_AND_CEILING,
)
AIS = MetricSpec(
    name="ais",
    description="image-audio similarity: % of other items' counterparts ranked below the true "
                "source by an image-audio evaluator (higher is better, chance 50)",
    higher_is_better=True, targets=("image", "audio"), sources=("image", "audio"),
    evaluator="pair", compute=_ais, rows=OUTPUTS_AND_CEILING,
)
RETRIEVAL_AT_1 = MetricSpec(
    name="r_at_1",
    description="retrieval R@1 of a contrastive judge on real test pairs (its ceiling)",
    higher_is_better=True, targets=MODALITIES, sources=MODALITIES, evaluator="pair",
    compute=_retrieval_at_1, needs_labels=True, rows=CEILING, subject="direction",
)

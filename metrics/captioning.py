"""Captioning metrics on coco-caption's scale: CIDEr-D and corpus BLEU-4 (pycocoevalcap).

Both metrics compare each generated caption g_i with its references R_i (one per item in
the paper protocol; several are allowed) after :func:`tokenize_caption`.

**CIDEr-D** (``pycocoevalcap.cider.Cider``, Vedantam et al. 2015, the "-D" variant that
coco-caption ships). For n-gram order n in 1..4, a caption c maps to the tf-idf vector
g^n(c)_w = tf_w(c) * log(N / max(1, df_w)), where N is the number of items in the evaluated
corpus and df_w the number of items whose references contain n-gram w. Then

    CIDEr-D_n(g_i, R_i) = 1/|R_i| sum_{r in R_i} exp(-(l_g - l_r)^2 / (2 * 6^2))
                          * sum_w min(g^n(g_i)_w, g^n(r)_w) * g^n(r)_w / (|g^n(g_i)| |g^n(r)|)
    CIDEr-D(g_i, R_i)   = 10 * (1/4) sum_{n=1..4} CIDEr-D_n(g_i, R_i)

(a clipped cosine similarity with a Gaussian length penalty; l is the caption length,
which coco-caption's code counts as the number of bigrams, i.e. words - 1 for a caption of
at least two words, so the difference l_g - l_r is the difference in word counts unless a
caption has fewer than two words). The corpus score is the mean over items. A perfect
caption scores 10 * (number of orders 1..4 it has n-grams of) / 4, so 10 for captions of
four or more words, provided each order has an n-gram that not every item's references
contain (such an n-gram has idf 0). The idf comes from the evaluated corpus itself, so a
corpus of one item scores 0. Scale: coco-caption's (a value like 1.05, not x100).

**BLEU-4** (``pycocoevalcap.bleu.Bleu(4)``, Papineni et al. 2002). Per item, c_i = test
length, r_i = the length of the reference closest to c_i (the shorter on a tie), and for
k in 1..4 the guesses G_ik = max(0, c_i - k + 1) and clipped matches M_ik (each n-gram's
count capped by its largest count in any one reference). Summed over items (C, R, G_k, M_k):

    BLEU-4 = BP * prod_{k=1..4} ((M_k + 1e-15) / (G_k + 1e-9))^(1/4),
    BP     = min(1, exp(1 - 1/rho)),  rho = (C + 1e-15) / (R + 1e-9),

the two constants being coco-caption's guards against division by zero (so perfect
three-word captions, with no 4-gram, score (1e-15 / 1e-9)^(1/4) ~ 0.03). Scale: [0, 1].
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from metrics.spec import MetricInputs, MetricSpec
from metrics.value import MetricValue, intervals_wanted, mean_with_bootstrap

BLEU_ORDER = 4
"""BLEU uses n-grams of orders 1..BLEU_ORDER."""

# coco-caption's guards in BleuScorer.compute_score: numerators get TINY, denominators SMALL.
_TINY = 1e-15
_SMALL = 1e-9

# Tokens coco-caption drops after PTB tokenization (ptbtokenizer.PUNCTUATIONS), written as
# the characters they come from: PTB turns " into `` or '', a dash run into - or --, and a
# run of periods into ... . Its bracket tokens (-LRB- ...) are listed upper-case there, but
# the lower-cased tokenizer output never matches them, so brackets survive as -lrb- etc.
_DROPPED = frozenset(".?!,:;-'\"`")
_BRACKETS = {
    "(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-",
}
_TYPOGRAPHIC = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                              "\u2013": " - ", "\u2014": " - "})
_TOKEN = re.compile(
    r"\w+?(?=n't\b)"               # the stem before a negation clitic: "do" in "don't"
    r"|(?:n't|'s|'m|'d|'re|'ve|'ll)(?!\w)"  # an English clitic, split off as PTB does
    r"|\w+(?:[-./]\w+)*"           # a word, keeping inner - . / : top-left, 3.5, and/or
    r"|[^\w\s]"                    # any other character is a token of its own
)

# Bootstrap resamples of the BLEU statistics per vectorized batch (bounds memory to about
# _BOOTSTRAP_BATCH * n * 10 floats).
_BOOTSTRAP_BATCH = 100
_BOOTSTRAP_RESAMPLES = 2_000


def tokenize_caption(text: str) -> str:
    """``text`` tokenized as coco-caption scores it, tokens joined by single spaces.

    coco-caption runs Stanford's PTBTokenizer (Java) with lower-casing and drops punctuation
    tokens. This is its behaviour for plain captions, without Java: lower-case (typographic
    quotes and dashes read as ASCII ones); split punctuation off words, keeping inner
    hyphens, periods and slashes (``top-left``, ``3.5``, ``and/or``); split clitics
    (``there's`` -> ``there 's``, ``don't`` -> ``do n't``); write brackets as PTB's
    ``-lrb-`` ... tokens; drop the marks . ? ! , : ; - and quotes. Where PTB's lexer knows more
    (abbreviations such as ``u.s.``, ``1,000``, ``cannot`` -> ``can not``, runs like
    ``!!`` that it keeps as one token) the result can differ.
    """
    tokens = _TOKEN.findall(text.lower().translate(_TYPOGRAPHIC))
    return " ".join(_BRACKETS.get(t, t) for t in tokens if t not in _DROPPED)


def _tokenized_corpus(
    generated: Sequence[str], references: Sequence[Sequence[str]] | Sequence[str]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """coco-caption's inputs: item -> tokenized references, item -> [tokenized caption].

    A plain string in ``references`` is that item's only reference.
    """
    if len(generated) != len(references):
        raise ValueError(f"{len(generated)} generated captions but {len(references)} "
                         "reference lists: pass one reference list per generated caption")
    if not generated:
        raise ValueError("no captions to score: pass at least one generated caption")
    gts: dict[int, list[str]] = {}
    for i, refs in enumerate(references):
        ref_list = [refs] if isinstance(refs, str) else list(refs)
        if not ref_list:
            raise ValueError(f"item {i} has no reference caption: give every item at least one")
        gts[i] = [tokenize_caption(r) for r in ref_list]
    res = {i: [tokenize_caption(g)] for i, g in enumerate(generated)}
    return gts, res


def cider_d(
    generated: Sequence[str],
    references: Sequence[Sequence[str]] | Sequence[str],
    seed: int = 0,
) -> MetricValue:
    """Corpus CIDEr-D (module docstring) on coco-caption's scale (10 = perfect), over n items.

    The value is the mean of the per-caption scores (kept as ``per_sample``), with a
    percentile-bootstrap 95% interval over items. The idf is fixed from the whole corpus;
    the bootstrap resamples the per-caption scores, not the idf.
    """
    from pycocoevalcap.cider.cider import Cider  # imported on use: `ls metrics` stays fast

    gts, res = _tokenized_corpus(generated, references)
    _, per_caption = Cider().compute_score(gts, res)
    return mean_with_bootstrap(np.asarray(per_caption, dtype=np.float64), seed=seed)


def bleu_statistics(
    generated: Sequence[str], references: Sequence[Sequence[str]] | Sequence[str]
) -> np.ndarray:
    """Per-caption BLEU sufficient statistics ``float64 [N, 2 + 2 * BLEU_ORDER]``.

    Columns: test length c_i, closest reference length r_i, guesses G_i1..G_i4, clipped
    matches M_i1..M_i4 (module docstring), from coco-caption's own ``cook_refs`` and
    ``cook_test`` so that n-gram counting is exactly Bleu(4)'s.
    """
    return _cooked_statistics(*_tokenized_corpus(generated, references))


def _cooked_statistics(gts: dict[int, list[str]], res: dict[int, list[str]]) -> np.ndarray:
    """:func:`bleu_statistics` of an already tokenized corpus."""
    from pycocoevalcap.bleu.bleu_scorer import cook_refs, cook_test

    rows = []
    for i, (caption,) in res.items():
        cooked = cook_test(caption, cook_refs(gts[i], n=BLEU_ORDER), eff="closest", n=BLEU_ORDER)
        rows.append([cooked["testlen"], cooked["reflen"], *cooked["guess"], *cooked["correct"]])
    return np.asarray(rows, dtype=np.float64)


def bleu4_from_totals(totals: np.ndarray) -> np.ndarray:
    """Corpus BLEU-4 (module docstring) from statistics summed over items, ``[..., 10]``.

    Vectorized over leading axes, so one call scores many bootstrap resamples (coco-caption
    applies this formula only inside ``BleuScorer.compute_score``, one corpus per call).
    """
    test_len, ref_len = totals[..., 0], totals[..., 1]
    guesses = totals[..., 2 : 2 + BLEU_ORDER]
    matches = totals[..., 2 + BLEU_ORDER : 2 + 2 * BLEU_ORDER]
    precision = np.prod((matches + _TINY) / (guesses + _SMALL), axis=-1) ** (1.0 / BLEU_ORDER)
    ratio = (test_len + _TINY) / (ref_len + _SMALL)
    brevity = np.exp(np.minimum(0.0, 1.0 - 1.0 / ratio))
    return precision * brevity


def bleu4(
    generated: Sequence[str],
    references: Sequence[Sequence[str]] | Sequence[str],
    seed: int = 0,
) -> MetricValue:
    """Corpus BLEU-4 exactly as coco-caption's Bleu(4) reports it, in [0, 1], over n items.

    The interval is a 95% percentile bootstrap over items that recomputes the corpus score
    (not a mean of per-caption scores) from resampled :func:`bleu_statistics`.
    ``per_sample`` holds coco-caption's per-caption BLEU-4, for storage only: their mean is
    not the corpus score.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from scipy.stats import bootstrap

    gts, res = _tokenized_corpus(generated, references)
    corpus, per_caption = Bleu(BLEU_ORDER).compute_score(gts, res, verbose=0)
    value = float(corpus[BLEU_ORDER - 1])
    per_sample = np.asarray(per_caption[BLEU_ORDER - 1], dtype=np.float64)
    stats = _cooked_statistics(gts, res)
    if not intervals_wanted():
        return MetricValue(value, len(stats), per_sample=per_sample)
    if np.all(stats == stats[0]):  # every resample is the same corpus
        return MetricValue(value, len(stats), value, value, per_sample)

    def statistic(*columns: np.ndarray, axis: int) -> np.ndarray:
        return bleu4_from_totals(np.stack([c.sum(axis=axis) for c in columns], axis=-1))

    result = bootstrap(
        tuple(stats.T), statistic, n_resamples=_BOOTSTRAP_RESAMPLES, batch=_BOOTSTRAP_BATCH,
        vectorized=True, paired=True, method="percentile", confidence_level=0.95,
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return MetricValue(value, len(stats), float(low), float(high), per_sample)


def _cider_d(inputs: MetricInputs) -> MetricValue:
    return cider_d(inputs.output, inputs.reference, seed=inputs.seed)


def _bleu4(inputs: MetricInputs) -> MetricValue:
    return bleu4(inputs.output, inputs.reference, seed=inputs.seed)


CIDER_D = MetricSpec(
    name="cider_d",
    description="CIDEr-D of generated captions against the reference caption (coco-caption), "
                "bootstrap CI (higher is better)",
    higher_is_better=True, targets=("text",), evaluator="captions", compute=_cider_d,
)
BLEU4 = MetricSpec(
    name="bleu4",
    description="corpus BLEU-4 of generated captions (coco-caption), bootstrap CI "
                "(higher is better)",
    higher_is_better=True, targets=("text",), evaluator="captions", compute=_bleu4,
)
